import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { runToEnd, spawnManaged, type ManagedChild } from './child-process.js';
import { waitUntil } from './ports.js';
import { ensureTraversable, pgBinaries, pgOwner, type Owner } from './postgres-host.js';

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export interface PostgresOptions {
  port: number;
  /** Server settings passed as `-c name=value` (the TLS test turns ssl on this way). */
  settings?: Record<string, string>;
  /** The cluster's folder under the data folder: `postgres` (a replica's is `postgres-replica`). */
  folder?: string;
}

export interface RunningPostgres {
  child: ManagedChild;
  databaseUrl: string;
  /** The same server's `postgres` database, for administration (replication, promotion). */
  adminUrl: string;
  /** Its data folder. */
  pgDir: string;
}

// Dev only: the server listens on 127.0.0.1 alone.
const USER = 'postgres';
const PASSWORD = 'postgres';
const DATABASE = 'events';

/** The event store's URL on a dev PostgreSQL listening on `port` (what `npm start` gives the services). */
export const devDatabaseUrl = (port: number, db = DATABASE) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${db}`;

export async function startPostgres(dataDir: string, opts: PostgresOptions, log: Log): Promise<RunningPostgres> {
  const bin = await pgBinaries(log);
  const owner = await pgOwner(log);
  const pgDir = join(dataDir, opts.folder ?? 'postgres');
  await mkdir(dataDir, { recursive: true });
  if (owner.uid !== undefined && owner.gid !== undefined) await ensureTraversable(pgDir, { uid: owner.uid, gid: owner.gid }, log);
  if (!existsSync(join(pgDir, 'PG_VERSION'))) await initCluster(bin.initdb, dataDir, pgDir, owner, log);

  const child = spawnManaged({
    name: opts.folder ?? 'postgres',
    command: bin.postgres,
    // No Unix socket: its default folder may be missing or shared with the system's PostgreSQL.
    args: [
      '-D',
      pgDir,
      '-p',
      String(opts.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    logFile: join(pgDir, 'postgres.log'),
    // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") waits for every client to leave.
    stopSignal: 'SIGINT',
    stopTimeoutMs: 15_000,
    // Niced like Temporal and the worker: its load is processing's (the store, transitions,
    // projections); ingestion never waits on it, and its backends inherit the priority.
    background: true,
    cwd: pgDir,
    ...owner,
    log,
  });
  const url = (db: string) => devDatabaseUrl(opts.port, db);
  try {
    await child.whileRunning((signal) =>
      waitUntil(`PostgreSQL on 127.0.0.1:${opts.port}`, () => answers(url('postgres')), 60_000, signal, 200),
    );
    await createDatabaseIfMissing(url('postgres'));
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, databaseUrl: url(DATABASE), adminUrl: url('postgres'), pgDir };
}

async function initCluster(initdb: string, dataDir: string, pgDir: string, owner: Owner, log: Log): Promise<void> {
  if (existsSync(pgDir) && (await readdir(pgDir)).length > 0) {
    throw new Error(`${pgDir} holds files but no PG_VERSION; it is not a PostgreSQL cluster. Move it away to start a new one.`);
  }
  log.info({ dir: pgDir }, 'initialising a new PostgreSQL cluster');
  // initdb works in a side folder that is renamed into place, so an interrupted init is redone
  // next time instead of leaving a half-made cluster that has a PG_VERSION.
  const temp = `${pgDir}.init-tmp`;
  const pwFile = join(dataDir, '.pg-password');
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { mode: 0o700 });
  await writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (owner.uid !== undefined && owner.gid !== undefined) {
    await chown(temp, owner.uid, owner.gid);
    await chown(pwFile, owner.uid, owner.gid);
  }
  try {
    await runToEnd({
      name: 'initdb',
      command: initdb,
      // --no-locale keeps the cluster independent of the locales installed on each machine.
      args: ['-D', temp, '-U', USER, '--pwfile', pwFile, '--auth', 'scram-sha-256', '--encoding', 'UTF8', '--no-locale'],
      logFile: join(dataDir, 'postgres-initdb.log'),
      cwd: dataDir,
      ...owner,
    });
  } finally {
    await rm(pwFile, { force: true });
  }
  await rm(pgDir, { recursive: true, force: true });
  await rename(temp, pgDir);
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createDatabaseIfMissing(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (rowCount) return;
    await client.query(`create database ${client.escapeIdentifier(DATABASE)}`);
  } catch (err) {
    // Lost a race with another process creating it.
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await client.end();
  }
}
