import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { findFreePort, waitUntil } from '../../src/dev/ports.js';
import { startPostgres } from '../../src/dev/postgres.js';
import { PRIMARY_DOMAIN, type TwoSites } from '../../src/dev/site/two-sites.js';
import type { Logger } from '../../src/logger.js';
import { mirrorStreamName } from '../../src/site/mirror.js';

// What the drill reads once the second site is promoted: what it holds, what the mirror held, and
// what the first site had done (its PostgreSQL started again for that alone).

/**
 * Every expected event is settled at the promoted site, its bridge has nothing waiting and no
 * delivery waits. The bridge acks a message once its run started, before the run stores the event:
 * an empty stream alone does not say the events are processed.
 */
export async function drained(sites: TwoSites, pool: pg.Pool, expected: string[]): Promise<void> {
  const nc = await connect({ servers: sites.standby.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    let last = '';
    try {
      await waitUntil(
        'the promoted site to process what it mirrored',
        async () => {
          const info = await jsm.consumers.info('EVENTS', 'event-bridge');
          const { rows } = await pool.query<{ settled: number; waiting: number }>(
            `SELECT (SELECT count(*)::int FROM events WHERE event_id = ANY($1::uuid[]) AND status IN ('completed', 'failed', 'discarded')) AS settled,
                    (SELECT count(*)::int FROM webhook_deliveries WHERE status = 'waiting') AS waiting`,
            [expected],
          );
          const { settled, waiting } = rows[0]!;
          last = JSON.stringify({ pending: info.num_pending, ackPending: info.num_ack_pending, settled, of: expected.length, waiting });
          return info.num_pending === 0 && info.num_ack_pending === 0 && settled === expected.length && waiting === 0;
        },
        180_000,
        undefined,
        250,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen: ${last}`);
    }
  } finally {
    await nc.close();
  }
}

/** The event ids the standby's mirror holds. */
export async function mirroredIds(sites: TwoSites): Promise<Set<string>> {
  const nc = await connect({ servers: sites.standby.natsUrl });
  const ids = new Set<string>();
  try {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(mirrorStreamName('EVENTS'));
    if (state.messages === 0) return ids;
    const consumer = await jetstream(nc).consumers.get(mirrorStreamName('EVENTS'));
    const messages = await consumer.consume();
    for await (const m of messages) {
      const id = (m.json() as { event_id?: string }).event_id;
      if (id) ids.add(id);
      if (m.seq >= state.last_seq) break;
    }
    await messages.close();
  } finally {
    await nc.close();
  }
  return ids;
}

/** The primary's PostgreSQL started again on its data, read for the audit only. */
export async function primaryRecord(dataDir: string, log: Logger): Promise<{ completed: Set<string>; delivered: Set<string> }> {
  // As it ran: a store with a logical replication slot does not start with less.
  const pgServer = await startPostgres(
    join(dataDir, PRIMARY_DOMAIN),
    { port: await findFreePort(), settings: { wal_level: 'logical' } },
    log,
  );
  const pool = new pg.Pool({ connectionString: pgServer.databaseUrl, max: 1 });
  try {
    const ids = async (sql: string) => new Set((await pool.query<{ event_id: string }>(sql)).rows.map((r) => r.event_id));
    return {
      completed: await ids("SELECT event_id::text FROM events WHERE status = 'completed'"),
      delivered: await ids("SELECT DISTINCT event_id::text FROM webhook_deliveries WHERE status = 'delivered'"),
    };
  } finally {
    await pool.end();
    await pgServer.child.stop();
  }
}
