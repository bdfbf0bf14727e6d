import { existsSync } from 'node:fs';
import { chown, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { takeBaseBackup } from './base-backup.js';
import { pgOwner } from './postgres-host.js';
import { startPostgres, type RunningPostgres } from './postgres.js';

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/** `sync`: each commit waits until the replica has it on disk, so a failover loses no commit. */
export type ReplicaMode = 'sync' | 'async';

export interface ReplicaOptions {
  port: number;
  mode: ReplicaMode;
  /** Server settings; a standby refuses to run with a lower `max_connections` than its primary's. */
  settings?: Record<string, string>;
}

/** The replica's application name and physical replication slot on the primary. */
export const REPLICA_NAME = 'event_store_replica';
const FOLDER = 'postgres-replica';

/**
 * A hot standby of `primary`, streaming its WAL, in `<dataDir>/postgres-replica`: the one kept
 * from an earlier start if it is still a standby of this primary, else a new base backup.
 */
export async function startReplica(dataDir: string, primary: RunningPostgres, opts: ReplicaOptions, log: Log): Promise<RunningPostgres> {
  const pgDir = join(dataDir, FOLDER);
  const primaryId = await one<{ id: string }>(primary.adminUrl, 'SELECT system_identifier::text AS id FROM pg_control_system()');
  let replica: RunningPostgres | undefined;
  if (existsSync(join(pgDir, 'PG_VERSION'))) {
    // The primary's port may have changed since (the cluster profile's are picked free at each start).
    await writeStandbySettings(pgDir, primary);
    replica = await startPostgres(dataDir, { port: opts.port, folder: FOLDER, ...(opts.settings && { settings: opts.settings }) }, log);
    const [state, slot] = await Promise.all([
      one<{ id: string; standby: boolean }>(
        replica.adminUrl,
        'SELECT system_identifier::text AS id, pg_is_in_recovery() AS standby FROM pg_control_system()',
      ),
      one<{ n: number }>(primary.adminUrl, 'SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [REPLICA_NAME]),
    ]);
    if (state.id !== primaryId.id || !state.standby || slot.n === 0) {
      log.warn(
        { dir: pgDir },
        'the replica folder is not a standby of this primary (promoted, or another cluster): taking a new base backup',
      );
      await replica.child.stop();
      replica = undefined;
    }
  }
  if (!replica) {
    await cloneFrom(primary, pgDir, log);
    replica = await startPostgres(dataDir, { port: opts.port, folder: FOLDER, ...(opts.settings && { settings: opts.settings }) }, log);
  }
  await setSynchronous(primary.adminUrl, opts.mode === 'sync');
  await waitStreaming(primary.adminUrl, opts.mode, replica);
  return replica;
}

async function cloneFrom(primary: RunningPostgres, pgDir: string, log: Log): Promise<void> {
  const owner = await pgOwner(log);
  const temp = `${pgDir}.clone-tmp`;
  await rm(temp, { recursive: true, force: true });
  await rm(pgDir, { recursive: true, force: true });
  // Made before the backup starts, so the primary keeps every WAL segment the replica will ask for.
  await one(primary.adminUrl, 'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [REPLICA_NAME]);
  await one(primary.adminUrl, 'SELECT pg_create_physical_replication_slot($1, true)', [REPLICA_NAME]);
  const began = Date.now();
  const copied = await takeBaseBackup(primary.adminUrl, primary.pgDir, temp, owner);
  await writeStandbySettings(temp, primary);
  await writeFile(join(temp, 'standby.signal'), '', { mode: 0o600 });
  if (owner.uid !== undefined && owner.gid !== undefined) await chown(join(temp, 'standby.signal'), owner.uid, owner.gid);
  await rename(temp, pgDir);
  log.info(
    { dir: pgDir, files: copied.files, mb: Math.round(copied.bytes / 1e5) / 10, ms: Date.now() - began },
    'base backup taken for the replica',
  );
}

const STANDBY_MARK = '\n# standby of the dev primary (src/dev/postgres-replica.ts)\n';

/**
 * The standby's settings, after the primary's own in the copy (replacing any an earlier start
 * wrote): a promoted replica must not wait for a standby of its own, and a promotion waits out the
 * retry interval of a lost stream (5 s by default) before it ends recovery.
 */
async function writeStandbySettings(pgDir: string, primary: RunningPostgres): Promise<void> {
  const { port, username, password } = new URL(primary.adminUrl);
  const conninfo = `host=127.0.0.1 port=${port} user=${decodeURIComponent(username)} password=${decodeURIComponent(password)} application_name=${REPLICA_NAME}`;
  const file = join(pgDir, 'postgresql.auto.conf');
  const own = (await readFile(file, 'utf8')).split(STANDBY_MARK)[0]!;
  await writeFile(
    file,
    `${own}${STANDBY_MARK}primary_conninfo = '${conninfo}'\nprimary_slot_name = '${REPLICA_NAME}'\nsynchronous_standby_names = ''\nwal_retrieve_retry_interval = '200ms'\n`,
  );
}

/** On the primary: whether commits wait for the replica. ALTER SYSTEM, so it survives the primary's restart. */
export async function setSynchronous(adminUrl: string, on: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(
      on ? `ALTER SYSTEM SET synchronous_standby_names = '${REPLICA_NAME}'` : 'ALTER SYSTEM RESET synchronous_standby_names',
    );
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
}

async function waitStreaming(adminUrl: string, mode: ReplicaMode, replica: RunningPostgres): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { n } = await one<{ n: number }>(
      adminUrl,
      `SELECT count(*)::int AS n FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming' AND ($2 = 'async' OR sync_state = 'sync')`,
      [REPLICA_NAME, mode],
    );
    if (n > 0) return;
    if (Date.now() > deadline) throw new Error(`the replica does not stream from the primary; its log:\n${await replica.child.tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function one<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows[0]!;
  } finally {
    await client.end();
  }
}

/** libpq's multi-host form over the primary and the replica: connects to whichever takes writes. */
export function failoverUrl(primaryUrl: string, replicaUrl: string): string {
  const p = new URL(primaryUrl);
  const r = new URL(replicaUrl);
  return `${p.protocol}//${p.username}:${p.password}@${p.host},${r.host}${p.pathname}?target_session_attrs=read-write`;
}
