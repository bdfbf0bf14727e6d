import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventFilter, listQuery, sessionQuery } from '../src/read-side/event-queries.js';
import { RECEIVED_AT } from '../src/store/events-repo.js';
import { CHUNK, CHUNK_START } from '../src/read-side/projections.js';
import { createStats } from '../src/read-side/stats.js';
import { migrate } from '../src/store/migrate.js';
import { createPool, type Pool } from '../src/store/pool.js';
import { stack } from './helpers.js';

// Each query the API runs, as PostgreSQL plans it over a store large enough for plans to mean
// something (60,000 events in three months, analyzed), on a database of its own.

const ROWS = 60_000;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
// The partitions holding the rows; the others (this month's, those made ahead, the default) are
// empty, and a sequential scan of an empty table is the right plan for it.
const FILLED = /^events_2030_0[123]$/;
const seqScans = (used: PlanNode[]) =>
  used.filter((n) => n['Node Type'] === 'Seq Scan' && FILLED.test(n['Relation Name'] ?? '')).map((n) => n['Relation Name']);

describe('query plans', () => {
  const admin = createPool(stack().databaseUrl, 1);
  const dbName = `plans_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let pool: Pool;

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(stack().databaseUrl);
    url.pathname = `/${dbName}`;
    pool = createPool(url.toString(), 2);
    await migrate(pool, pino({ level: 'silent' }));
    for (const m of ['2030-01-01', '2030-02-01', '2030-03-01']) await pool.query('SELECT ensure_event_partition($1)', [m]);
    await pool.query(
      `WITH g AS (SELECT i, gen_random_uuid() AS id, timestamptz '2030-01-01' + (i * interval '1 minute') * 129600 / $1 AS at
                    FROM generate_series(1, $1) i),
            ids AS (INSERT INTO event_ids SELECT id, at FROM g)
       INSERT INTO events (event_id, event_type, event_source, event_category, user_id, session_id, data, status, timestamp, received_at, field_hashes)
       SELECT id, 't' || (i % 50), CASE WHEN i % 2 = 0 THEN 'frontend' ELSE 'backend' END, 'c' || (i % 3),
              'u' || (i % 2000), 's' || (i % 6000), jsonb_build_object('plan', 'p' || (i % 500), 'n', i),
              CASE WHEN i % 1000 = 0 THEN 'failed' ELSE 'completed' END, at, at,
              CASE WHEN i % 3 = 0 THEN ARRAY['k:' || (i % 10000), 'k:p' || (i % 20000)] END FROM g`,
      [ROWS],
    );
    await pool.query('ANALYZE events');
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  async function plan(text: string, values: unknown[]): Promise<PlanNode[]> {
    const res = await pool.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
    return nodes(res.rows[0]['QUERY PLAN'][0].Plan as PlanNode);
  }

  const page = { limit: 50, order: 'desc' as const };
  it.each<[string, EventFilter, RegExp]>([
    ['a user', { user_id: 'u42' }, /user_id_received_at/],
    ['a user in a time range', { user_id: 'u42', from: '2030-02-01T00:00:00Z', to: '2030-02-15T00:00:00Z' }, /user_id_received_at/],
    ['a user as of a time', { user_id: 'u42', as_of: '2030-02-10T00:00:00Z' }, /user_id_received_at/],
    ['a session', { session_id: 's42' }, /session_id_received_at/],
    ['a type', { event_type: 't7' }, /event_type_received_at|received_at_event_id/],
    ['a type in a time range', { event_type: 't7', from: '2030-03-01T00:00:00Z' }, /event_type_received_at|received_at_event_id/],
    ['a source', { source: 'frontend' }, /event_source_received_at|received_at_event_id/],
    ['a status', { status: 'failed' }, /status_received_at/],
    ['JSON containment on data', { contains: { plan: 'p7', n: 7 } }, /data_idx/],
    ['an encrypted field by keyed hash, under two keys', { field_hashes: ['k:42', 'old:42'] }, /field_hashes_idx/],
    ['nothing but time', { from: '2030-01-10T00:00:00Z', to: '2030-01-11T00:00:00Z' }, /received_at_event_id/],
    ['nothing at all', {}, /received_at_event_id/],
  ])('%s: reads an index, never a whole partition', async (_what, filter, index) => {
    const used = await plan(...(Object.values(listQuery(filter, page)) as [string, unknown[]]));
    expect(seqScans(used)).toEqual([]);
    expect(
      used.some((n) => n['Index Name'] && index.test(n['Index Name'])),
      JSON.stringify(used.map((n) => n['Index Name'] ?? n['Node Type'])),
    ).toBe(true);
  });

  it('a page after a cursor starts inside the index', async () => {
    const { text, values } = listQuery(
      { user_id: 'u42' },
      { ...page, after: { receivedAt: '2030-02-10T00:00:00Z', eventId: randomUUID() } },
    );
    const used = await plan(text, values);
    expect(seqScans(used)).toEqual([]);
    expect(used.some((n) => /user_id_received_at/.test(n['Index Name'] ?? ''))).toBe(true);
  });

  it('a time range reads only the months it covers', async () => {
    const { text, values } = listQuery({ event_type: 't7', from: '2030-02-03T00:00:00Z', to: '2030-02-20T00:00:00Z' }, page);
    const relations = (await plan(text, values)).map((n) => n['Relation Name']).filter(Boolean);
    expect(new Set(relations.filter((r) => FILLED.test(r!)))).toEqual(new Set(['events_2030_02']));
  });

  /** The statements a stats call runs, captured instead of run, to be EXPLAINed. */
  async function statementsOf(call: (stats: ReturnType<typeof createStats>) => Promise<unknown>): Promise<[string, unknown[]][]> {
    const seen: [string, unknown[]][] = [];
    const capture = {
      query: async (text: string, values: unknown[]) => (
        seen.push([text, values]),
        { rows: [{ bucket: new Date(), count: 0, events: 0 }] }
      ),
    };
    await call(createStats(capture as never)).catch(() => undefined);
    return seen;
  }

  it.each<[string, (stats: ReturnType<typeof createStats>) => Promise<unknown>, RegExp]>([
    [
      'a funnel reads the type and the user indexes',
      (s) => s.funnel({ from: '2030-02-01T00:00:00Z', to: '2030-02-08T00:00:00Z' }, ['t1', 't2', 't3'], 86_400_000),
      /event_type_received_at|user_id_received_at/,
    ],
    [
      'counts as of a time read the events of the cut hour by time',
      (s) => s.eventCounts({ from: '2030-02-01T00:00:00Z', to: '2030-02-08T00:00:00Z', as_of: '2030-02-03T10:30:00Z' }, 'day', {}),
      /received_at_event_id|event_type_received_at/,
    ],
    [
      'sessions as of a time read the session index',
      (s) => s.sessions({ from: '2030-02-01T00:00:00Z', to: '2030-02-08T00:00:00Z', as_of: '2030-02-03T10:30:00Z' }),
      /session_id_received_at|received_at_event_id/,
    ],
  ])('%s', async (_what, call, index) => {
    for (const [text, values] of await statementsOf(call)) {
      const used = await plan(text, values);
      expect(seqScans(used)).toEqual([]);
      if (/FROM events/.test(text))
        expect(
          used.some((n) => index.test(n['Index Name'] ?? '')),
          text,
        ).toBe(true);
    }
  });

  it('a read or an update by id visits the one partition that holds the event', async () => {
    const id = (await pool.query(`SELECT event_id FROM events WHERE received_at >= '2030-02-10' LIMIT 1`)).rows[0].event_id;
    for (const statement of [
      `SELECT * FROM events WHERE event_id = $1 AND received_at = ${RECEIVED_AT('$1')}`,
      `UPDATE events SET attempts = attempts WHERE event_id = $1 AND received_at = ${RECEIVED_AT('$1')}`,
    ]) {
      const res = await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`, [id]);
      const ran = nodes(res.rows[0]['QUERY PLAN'][0].Plan as PlanNode)
        .filter((n) => /^events_/.test(n['Relation Name'] ?? '') && (n as { 'Actual Loops'?: number })['Actual Loops']! > 0)
        .map((n) => n['Relation Name']);
      expect(ran, statement).toEqual(['events_2030_02']);
    }
  });

  it('a rebuild reads its chunks as index ranges', async () => {
    const used = await plan(CHUNK, [CHUNK_START, 5000]);
    expect(seqScans(used)).toEqual([]);
    expect(used.some((n) => /received_at_event_id/.test(n['Index Name'] ?? ''))).toBe(true);
  });

  it("a session's summary reads the session index", async () => {
    const { text, values } = sessionQuery('s42');
    const used = await plan(text, values);
    expect(seqScans(used)).toEqual([]);
    expect(used.some((n) => /session_id_received_at/.test(n['Index Name'] ?? ''))).toBe(true);
  });
});
