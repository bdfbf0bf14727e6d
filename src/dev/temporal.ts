import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions.js';
import { spawnManaged, type ManagedChild } from './child-process.js';
import { findOnPath, goInstall } from './go-install.js';
import { isPortOpen, waitUntil } from './ports.js';

const execFileAsync = promisify(execFile);

// v1.5.1 is the newest tag whose go.mod has no `replace` directive, which `go install` rejects.
export const TEMPORAL_CLI_VERSION = '1.5.1';

// A single node serving one worker (figures: docs/performance.md):
// - the search attribute cache is not refreshed on every read: each start and upsert otherwise
//   reads the namespace's attributes from the database (measured here: 30 -> 37 workflows/s);
// - one task queue partition: with several, a poll can miss a task waiting in another partition;
// - eager workflow start on, and rate limits far above what one node can do.
export const DEV_DYNAMIC_CONFIG: Record<string, unknown> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
  'system.enableEagerWorkflowStart': true,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  'frontend.rps': 100_000,
  'frontend.namespaceRPS': 100_000,
  'history.rps': 100_000,
  'matching.rps': 100_000,
};

// Registered at every start; the dev server skips the ones that already exist in the database.
// The CLI's names for the search attribute types we use.
const CLI_TYPES: Partial<Record<SearchAttributeType, string>> = { KEYWORD: 'Keyword', DATETIME: 'Datetime', INT: 'Int' };

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
const quiet: Log = { info: () => undefined, warn: () => undefined };

export interface TemporalOptions {
  /** `cli`: the CLI's dev server on SQLite (default); `server`: Temporal's server on the stack's PostgreSQL. */
  kind?: TemporalKind;
  /** Start with no workflows: a previous run's parked ones would replay against today's code. */
  fresh?: boolean;
  port: number;
  uiPort: number;
  cliPath?: string;
  uiCodecEndpoint?: string;
}

/** The Temporal CLI: `cliPath`, else `temporal` on PATH, else the cached build (built if missing). */
export async function resolveTemporalCli(cacheDir: string, cliPath?: string, log: Log = quiet): Promise<string> {
  if (cliPath) {
    if (!existsSync(cliPath)) throw new Error(`TEMPORAL_CLI_PATH is ${cliPath}, but no file is there`);
    return cliPath;
  }
  const onPath = await findOnPath('temporal');
  if (onPath) return onPath;
  return goInstall({
    module: 'github.com/temporalio/cli/cmd/temporal',
    version: `v${TEMPORAL_CLI_VERSION}`,
    binary: 'temporal',
    dir: join(cacheDir, `temporal-${TEMPORAL_CLI_VERSION}`),
    alternative: 'set TEMPORAL_CLI_PATH to a Temporal CLI binary, or TEMPORAL_ADDRESS to a Temporal server that is already running',
    log,
  });
}

export type TemporalKind = 'cli' | 'server';

export interface RunningTemporal {
  child: ManagedChild;
  address: string;
  uiUrl: string;
}

export async function startTemporal(cli: string, dataDir: string, opts: TemporalOptions, log: Log): Promise<RunningTemporal> {
  const dir = join(dataDir, 'temporal');
  if (opts.fresh) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const address = `127.0.0.1:${opts.port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--db-filename',
    join(dir, 'temporal.db'),
    '--namespace',
    'default',
    // Dev data is disposable: give up durability on power loss for much faster history writes.
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=OFF',
    '--log-level',
    'warn',
    ...Object.entries(DEV_DYNAMIC_CONFIG).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    ...SEARCH_ATTRIBUTE_KEYS.flatMap(({ name, type }) => ['--search-attribute', `${name}=${CLI_TYPES[type]}`]),
    ...(opts.uiCodecEndpoint ? ['--ui-codec-endpoint', opts.uiCodecEndpoint] : []),
  ];
  const child = spawnManaged({ name: 'temporal', command: cli, args, logFile: join(dir, 'temporal.log'), log, background: true });
  try {
    // The port opens before the frontend serves; a namespace lookup proves it answers requests.
    await child.whileRunning((signal) =>
      waitUntil(
        `Temporal at ${address}`,
        async () => (await isPortOpen(opts.port)) && (await namespaceExists(cli, address)),
        60_000,
        signal,
        200,
      ),
    );
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, address, uiUrl: `http://localhost:${opts.uiPort}` };
}

async function namespaceExists(cli: string, address: string): Promise<boolean> {
  try {
    await execFileAsync(cli, ['operator', 'namespace', 'describe', 'default', '--address', address], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}
