import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { runToEnd } from './child-process.js';

const execFileAsync = promisify(execFile);

/** Absolute path of `name` as the shell would find it on PATH, or undefined. */
export async function findOnPath(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('sh', ['-c', 'command -v "$1"', 'sh', name]);
    const found = stdout.trim();
    return found.startsWith('/') ? found : undefined;
  } catch {
    return undefined;
  }
}

export interface GoInstallOptions {
  module: string;
  version: string;
  binary: string;
  /** Final folder, e.g. <cacheDir>/temporal-1.5.1; it holds only a complete binary. */
  dir: string;
  /** Appended to the error when Go is missing: what else the user can do. */
  alternative: string;
  log: { info(obj: object, msg: string): void };
}

/** Returns the cached binary, building it with `go install` first if it is not there. */
export async function goInstall(opts: GoInstallOptions): Promise<string> {
  const target = join(opts.dir, opts.binary);
  if (existsSync(target)) return target;

  if (!(await findOnPath('go'))) {
    throw new Error(
      `${opts.binary} ${opts.version} is not installed and Go is not on PATH to build it. Install Go 1.25 or newer from https://go.dev/dl/, or ${opts.alternative}.`,
    );
  }

  const parent = dirname(opts.dir);
  await mkdir(parent, { recursive: true });
  await removeAbandonedBuilds(parent, basename(opts.dir));
  // Build beside the final folder and rename it into place, so an interrupted build never leaves
  // a half-written binary where the next run would trust it.
  const temp = `${opts.dir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  const logFile = `${opts.dir}.build.log`;
  opts.log.info(
    { module: `${opts.module}@${opts.version}`, dir: opts.dir, logFile },
    `building ${opts.binary} with go install; a cold build takes several minutes`,
  );
  const started = Date.now();
  await runToEnd({
    name: `go install ${opts.module}@${opts.version}`,
    // `env` sets the build variables without this module reading the environment itself.
    command: 'env',
    args: ['CGO_ENABLED=0', `GOBIN=${temp}`, 'go', 'install', `${opts.module}@${opts.version}`],
    logFile,
  });
  try {
    await rename(temp, opts.dir);
  } catch (err) {
    // Another process finished the same build first; its binary is as good as ours.
    if (!existsSync(target)) throw err;
    await rm(temp, { recursive: true, force: true });
  }
  opts.log.info({ binary: target, ms: Date.now() - started }, `built ${opts.binary}`);
  return target;
}

async function removeAbandonedBuilds(parent: string, name: string): Promise<void> {
  const prefix = `${name}.tmp-`;
  for (const entry of await readdir(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (Number.isInteger(pid) && !isAlive(pid)) await rm(join(parent, entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
