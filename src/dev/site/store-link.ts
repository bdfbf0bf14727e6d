import pg from 'pg';
import { waitUntil } from '../ports.js';

// The drill's stand-in for the standby site's replica of the primary's event store: PostgreSQL
// logical replication of what promotion and processing need to know (which events are stored and
// whether they settled, the subscribers and what each received). It lets the standby run its own
// worker (migrated, polling Temporal) beside it, which a physical replica would not. Across real
// regions this is the streaming replica of docs/disaster-recovery.md, promoted with the site.

const NAME = 'site_store';
const TABLES = ['event_ids', 'events', 'subscriptions', 'subscription_health', 'webhook_deliveries'];

function conninfo(url: string): string {
  const u = new URL(url);
  const quote = (v: string) => `'${decodeURIComponent(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return [
    `host=${quote(u.hostname)}`,
    `port=${u.port || '5432'}`,
    `user=${quote(u.username)}`,
    `password=${quote(u.password)}`,
    `dbname=${quote(u.pathname.slice(1))}`,
  ].join(' ');
}

async function withClient<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/**
 * Starts replicating the primary's store (PostgreSQL run with `wal_level=logical`) into the
 * standby's (migrated, tables empty), and resolves once the initial copy is done.
 */
export async function linkStores(primaryUrl: string, standbyUrl: string): Promise<void> {
  await withClient(primaryUrl, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [NAME]);
    if (!rowCount) await c.query(`CREATE PUBLICATION ${NAME} FOR TABLE ${TABLES.join(', ')} WITH (publish_via_partition_root = true)`);
  });
  await withClient(standbyUrl, async (c) => {
    await c.query(`CREATE SUBSCRIPTION ${NAME} CONNECTION ${c.escapeLiteral(conninfo(primaryUrl))} PUBLICATION ${NAME}`);
    await waitUntil(
      'the standby store to copy the primary',
      async () => {
        const { rows } = await c.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = $1 AND r.srsubstate <> 'r'",
          [NAME],
        );
        return rows[0]!.n === 0;
      },
      60_000,
      undefined,
      200,
    );
  });
}

/** How far the standby's store is behind, in bytes of the primary's WAL it has not applied yet. */
export async function storeLagBytes(primaryUrl: string): Promise<number | undefined> {
  return withClient(primaryUrl, async (c) => {
    const { rows } = await c.query<{ lag: string | null }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = $1',
      [NAME],
    );
    return rows[0]?.lag == null ? undefined : Number(rows[0].lag);
  });
}

/**
 * Ends the link from the standby's side, with the primary unreachable: the standby's store keeps
 * what it applied and takes writes of its own (the promoted site's).
 */
export async function cutStoreLink(standbyUrl: string): Promise<void> {
  await withClient(standbyUrl, async (c) => {
    await c.query(`ALTER SUBSCRIPTION ${NAME} DISABLE`);
    await c.query(`ALTER SUBSCRIPTION ${NAME} SET (slot_name = NONE)`);
    await c.query(`DROP SUBSCRIPTION ${NAME}`);
  });
}
