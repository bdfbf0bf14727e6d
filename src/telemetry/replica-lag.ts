import { Gauge, type Registry } from 'prom-client';
import { parseDatabaseUrl } from '../store/database-url.js';
import type { Pool } from '../store/pool.js';
import { METRIC_PREFIX } from './registry.js';

// How stale a read from DATABASE_READ_URL may be, read when scraped. The replica's own
// `now() - pg_last_xact_replay_timestamp()` alone grows while the primary is idle, and reads 0
// while the replica has stopped receiving; compared with the primary's WAL position it is neither:
// a replica that has replayed everything the primary had written is 0 behind, otherwise it is
// behind by at most the time since the last commit it replayed.

export interface ReplicaLag {
  /** The read server answered. */
  up: boolean;
  /** WAL bytes written by the primary and not yet replayed by the replica; undefined when the primary did not answer. */
  bytes?: number;
  /** Upper bound on how old what a read sees may be. */
  seconds?: number;
}

const SCRAPE_TIMEOUT_MS = 2_000;

export async function readReplicaLag(primary: Pool, replica: Pool): Promise<ReplicaLag> {
  const primaryLsn = await withTimeout(primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).then(
    (r) => r.rows[0]?.lsn,
    () => undefined,
  );
  const replay = await withTimeout(
    replica.query<{ standby: boolean; replayed: string | null; since_replay: number | null }>(
      `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed,
              extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS since_replay`,
    ),
  ).then(
    (r) => r.rows[0],
    () => undefined,
  );
  if (!replay) return { up: false };
  // Not (or no longer) a standby, e.g. promoted: it is the primary, nothing to wait for.
  if (!replay.standby) return { up: true, bytes: 0, seconds: 0 };
  const bytes = primaryLsn && replay.replayed ? Math.max(lsnBytes(primaryLsn) - lsnBytes(replay.replayed), 0) : undefined;
  const seconds = bytes === 0 ? 0 : (replay.since_replay ?? undefined);
  return { up: true, ...(bytes !== undefined && { bytes }), ...(seconds !== undefined && { seconds: Math.max(seconds, 0) }) };
}

/**
 * Declared in every API (the alert rules name them), with samples only when a replica is
 * configured, labelled with its `host:port` (from the configuration: one value per API).
 */
export function watchReplicaLag(registry: Registry, primary: Pool, replica: { pool: Pool; name: string } | undefined): void {
  let last: { at: number; lag: Promise<ReplicaLag> } | undefined;
  // One reading per scrape for the three gauges.
  const read = () => {
    if (!replica) return Promise.resolve(undefined);
    if (!last || Date.now() - last.at > 1_000) last = { at: Date.now(), lag: readReplicaLag(primary, replica.pool) };
    return last.lag;
  };
  const gauge = (name: string, help: string, pick: (lag: ReplicaLag) => number | undefined) =>
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: ['replica'],
      registers: [registry],
      async collect() {
        const lag = await read();
        const value = lag && pick(lag);
        this.reset();
        if (replica && value !== undefined) this.set({ replica: replica.name }, value);
      },
    });
  gauge('db_replica_up', 'Whether the read replica (DATABASE_READ_URL) answered (1) or not (0)', (l) => (l.up ? 1 : 0));
  gauge(
    'db_replica_lag_seconds',
    'How stale a read from the replica may be: 0 when it has replayed all the primary wrote, else the time since the last commit it replayed',
    (l) => l.seconds,
  );
  gauge('db_replica_lag_bytes', 'WAL bytes the primary wrote that the replica has not replayed', (l) => l.bytes);
}

/** The replica label: its `host:port` (several for a multi-host URL), never the password. */
export function replicaName(url: string): string {
  return /^postgres(ql)?:/.test(url)
    ? parseDatabaseUrl(url)
        .hosts.map((h) => `${h.host}:${h.port}`)
        .join(',')
    : new URL(url).host;
}

/** `16/B374D848` → its byte position (exact up to 2^53 bytes, 8 PiB of WAL). */
export function lsnBytes(lsn: string): number {
  const [hi = '0', lo = '0'] = lsn.split('/');
  return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16);
}

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), SCRAPE_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
