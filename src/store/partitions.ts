import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';
import { inTransaction } from './transaction.js';

// `events` is partitioned by UTC month of received_at (migration 004). The service makes the
// partitions of the coming months before events need them (an event of a month without one
// lands in the default partition, which works but reads slower), and drops whole months once
// they are older than the retention: a DROP TABLE, not millions of deletes.

export interface PartitionSettings {
  /** Months made ahead of the current one. */
  monthsAhead: number;
  /** Months older than this are dropped; undefined keeps everything. */
  retentionMs?: number;
  /** How often the maintenance runs in a long-lived process. */
  intervalMs: number;
}

const PARTITION_NAME = /^events_(\d{4})_(\d{2})$/;

export function monthStart(at: Date, plusMonths = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + plusMonths, 1));
}

export function createPartitionMaintenance({
  pool,
  log,
  settings,
}: {
  pool: Pool;
  log: Pick<Logger, 'info' | 'warn'>;
  settings: PartitionSettings;
}) {
  async function ensureAhead(now = new Date()): Promise<string[]> {
    const made: string[] = [];
    for (let m = 0; m <= settings.monthsAhead; m++) {
      const res = await pool.query<{ name: string }>('SELECT ensure_event_partition($1) AS name', [monthStart(now, m)]);
      made.push(res.rows[0]!.name);
    }
    return made;
  }

  /** The monthly partitions, oldest first, with the end of the month each holds. */
  async function list(): Promise<{ name: string; from: Date; to: Date }[]> {
    const res = await pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events'::regclass ORDER BY c.relname`,
    );
    return res.rows.flatMap(({ name }) => {
      const m = PARTITION_NAME.exec(name);
      if (!m) return [];
      const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
      return [{ name, from, to: monthStart(from, 1) }];
    });
  }

  /**
   * Drops each month that ended before now − retention, with everything that hangs off its
   * events (ids, history, deliveries: the foreign keys cascade), and deletes the default
   * partition's rows older than that. One transaction per month.
   */
  async function expire(now = new Date()): Promise<string[]> {
    if (settings.retentionMs === undefined) return [];
    const cutoff = new Date(now.getTime() - settings.retentionMs);
    const dropped: string[] = [];
    for (const part of await list()) {
      if (part.to > cutoff) continue;
      await inTransaction(pool, async (client) => {
        await client.query(`DELETE FROM event_ids k USING ${part.name} p WHERE k.event_id = p.event_id`);
        await client.query(`DROP TABLE ${part.name}`);
      });
      dropped.push(part.name);
    }
    await pool.query(
      `WITH gone AS (DELETE FROM events_default WHERE received_at < $1 RETURNING event_id)
       DELETE FROM event_ids WHERE event_id IN (SELECT event_id FROM gone)`,
      [cutoff],
    );
    if (dropped.length > 0) log.info({ dropped, cutoff: cutoff.toISOString() }, 'event partitions past retention dropped');
    return dropped;
  }

  async function runOnce(now = new Date()): Promise<void> {
    await ensureAhead(now);
    await expire(now);
  }

  let timer: NodeJS.Timeout | undefined;
  return {
    ensureAhead,
    expire,
    list,
    runOnce,
    /** Runs now, then every `intervalMs`; a failure is logged and tried again next time. */
    async start(): Promise<void> {
      await runOnce();
      timer = setInterval(() => {
        runOnce().catch((err: Error) => log.warn({ err: err.message }, 'event partition maintenance failed'));
      }, settings.intervalMs);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}

export type PartitionMaintenance = ReturnType<typeof createPartitionMaintenance>;
