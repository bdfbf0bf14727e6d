import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../src/events/envelope.js';
import { createEventsRepo } from '../src/store/events-repo.js';
import { migrate } from '../src/store/migrate.js';
import { createPartitionMaintenance } from '../src/store/partitions.js';
import { createPool, type Pool } from '../src/store/pool.js';
import { stack } from './helpers.js';

// The partitioned store on a database of its own, so that making and dropping months cannot
// touch what the other tests store.

const MIGRATIONS = fileURLToPath(new URL('../migrations/', import.meta.url));
const silent = pino({ level: 'silent' });
const DESIGN_INDEXES = ['(user_id, received_at', '(event_type, received_at', '(event_source, received_at', 'gin (data jsonb_path_ops)'];

const event = (receivedAt: string, extra: Partial<EventEnvelope> = {}): EventEnvelope => ({
  event_id: randomUUID(),
  event_type: 'partition_test',
  event_source: 'backend',
  event_category: 'service',
  user_id: 'u-1',
  data: { n: 1 },
  metadata: {},
  timestamp: receivedAt,
  received_at: receivedAt,
  ...extra,
});

describe('the partitioned event store', () => {
  const admin = createPool(stack().databaseUrl, 1);
  const dbName = `partitions_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let pool: Pool;
  let oldMigrations: string;

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(stack().databaseUrl);
    url.pathname = `/${dbName}`;
    pool = createPool(url.toString(), 3);
    // The schema as it was before partitioning: the migrations up to 003 alone.
    oldMigrations = await mkdtemp(join(tmpdir(), 'migrations-'));
    for (const f of (await readdir(MIGRATIONS)).filter((f) => f < '004')) await copyFile(join(MIGRATIONS, f), join(oldMigrations, f));
  });
  afterAll(async () => {
    await pool?.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await rm(oldMigrations, { recursive: true, force: true });
  });

  const partitionOf = async (id: string) =>
    (await pool.query(`SELECT tableoid::regclass::text AS part FROM events WHERE event_id = $1`, [id])).rows.map((r) => r.part as string);

  it('converts an unpartitioned table without losing a row, its history or its deliveries', async () => {
    await migrate(pool, silent, oldMigrations);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const times = ['2001-01-15T10:00:00Z', '2001-02-20T11:00:00Z', '2001-02-28T23:59:59.999Z'];
    for (const [i, id] of ids.entries()) {
      await pool.query(
        `INSERT INTO events (event_id, event_type, event_source, event_category, user_id, data, status, timestamp, received_at)
         VALUES ($1, 'old_row', 'backend', 'service', 'u-old', $2, 'completed', $3, $3)`,
        [id, { i }, times[i]],
      );
      await pool.query(`INSERT INTO event_status_history (event_id, run_id, seq, status, at) VALUES ($1, 'r', 1, 'completed', now())`, [
        id,
      ]);
    }
    const sub = (
      await pool.query(`INSERT INTO subscriptions (id, url, subjects) VALUES ($1, 'http://x.test', '{events.>}') RETURNING id`, [
        randomUUID(),
      ])
    ).rows[0].id;
    await pool.query(
      `INSERT INTO webhook_deliveries (event_id, subscription_id, status, response_code) VALUES ($1, $2, 'delivered', 200)`,
      [ids[0], sub],
    );

    expect(await migrate(pool, silent)).toContain('004_partitioned_events.sql');

    const partitioned = await pool.query(`SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'events'::regclass`);
    expect(partitioned.rowCount).toBe(1);
    const rows = await pool.query(
      `SELECT event_id, data, status, received_at FROM events WHERE event_type = 'old_row' ORDER BY received_at`,
    );
    expect(rows.rows.map((r) => [r.event_id, r.data, r.status, r.received_at.toISOString()])).toEqual(
      ids.map((id, i) => [id, { i }, 'completed', new Date(times[i]!).toISOString()]),
    );
    expect(await partitionOf(ids[0]!)).toEqual(['events_2001_01']);
    expect(await partitionOf(ids[2]!)).toEqual(['events_2001_02']);
    const history = await pool.query(`SELECT count(*)::int AS n FROM event_status_history WHERE event_id = ANY($1)`, [ids]);
    expect(history.rows[0].n).toBe(3);
    const repo = createEventsRepo(pool);
    expect(await repo.get(ids[1]!)).toMatchObject({ event_id: ids[1], status: 'completed', user_id: 'u-old' });
    expect((await repo.history(ids[1]!)).map((t) => t.status)).toEqual(['completed']);
  });

  it('has the design indexes on every partition, the default one and those made later included', async () => {
    const maintenance = createPartitionMaintenance({ pool, log: silent, settings: { monthsAhead: 2, intervalMs: 60_000 } });
    await maintenance.ensureAhead();
    const parts = await pool.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass`,
    );
    const names = parts.rows.map((r) => r.relname as string);
    expect(names).toEqual(expect.arrayContaining(['events_default', 'events_2001_01', 'events_2001_02']));
    expect(names.length).toBeGreaterThanOrEqual(3 + 3);
    for (const name of names) {
      const defs = (await pool.query(`SELECT indexdef FROM pg_indexes WHERE tablename = $1`, [name])).rows.map((r) => r.indexdef as string);
      for (const index of DESIGN_INDEXES)
        expect(
          defs.some((d) => d.includes(index)),
          `${name}: ${index}`,
        ).toBe(true);
    }
  });

  it('stores an id once, even when it arrives again with another received_at', async () => {
    const repo = createEventsRepo(pool);
    const first = event('2001-02-10T00:00:00Z');
    expect(await repo.insert(first)).toBe(true);
    expect(await repo.insert(first)).toBe(false);
    expect(await repo.insert({ ...first, received_at: '2001-01-10T00:00:00Z', data: { n: 2 } })).toBe(false);
    await repo.begin({ ...first, received_at: new Date().toISOString() }, 'run-1', new Date().toISOString());
    const rows = await pool.query(`SELECT data, status, received_at FROM events WHERE event_id = $1`, [first.event_id]);
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]).toMatchObject({ data: { n: 1 }, status: 'processing' });
    expect(await partitionOf(first.event_id)).toEqual(['events_2001_02']);
  });

  it('keeps an event of a month without a partition in the default one, and moves it when its month is made', async () => {
    const repo = createEventsRepo(pool);
    const far = event('2090-05-10T12:00:00Z');
    await repo.begin(far, 'run-1', far.received_at);
    expect(await partitionOf(far.event_id)).toEqual(['events_default']);
    await pool.query('SELECT ensure_event_partition($1)', ['2090-05-31T00:00:00Z']);
    expect(await partitionOf(far.event_id)).toEqual(['events_2090_05']);
    await repo.recordTransition({ eventId: far.event_id, runId: 'run-1', seq: 3, status: 'completed', attempts: 1, at: far.received_at });
    expect(await repo.get(far.event_id)).toMatchObject({ status: 'completed' });
  });

  it('drops whole months older than the retention, with their ids and history, and keeps the rest', async () => {
    const repo = createEventsRepo(pool);
    const old = event('2001-01-20T00:00:00Z');
    const kept = event('2001-02-20T00:00:00Z');
    const lingering = event('2000-06-01T00:00:00Z');
    for (const e of [old, kept, lingering]) await repo.begin(e, 'run-1', e.received_at);
    expect(await partitionOf(lingering.event_id)).toEqual(['events_default']);

    const now = new Date('2001-03-15T00:00:00Z');
    const maintenance = createPartitionMaintenance({
      pool,
      log: silent,
      settings: { monthsAhead: 0, retentionMs: 30 * 86_400_000, intervalMs: 60_000 },
    });
    expect(await maintenance.expire(now)).toEqual(['events_2001_01']);

    expect(await repo.get(old.event_id)).toBeUndefined();
    expect(await repo.get(lingering.event_id)).toBeUndefined();
    expect(await repo.get(kept.event_id)).toMatchObject({ status: 'processing' });
    const left = await pool.query(`SELECT count(*)::int AS n FROM event_ids WHERE event_id = ANY($1)`, [
      [old.event_id, lingering.event_id],
    ]);
    expect(left.rows[0].n).toBe(0);
    const history = await pool.query(`SELECT count(*)::int AS n FROM event_status_history WHERE event_id = $1`, [old.event_id]);
    expect(history.rows[0].n).toBe(0);
    expect((await maintenance.list()).map((p) => p.name)).not.toContain('events_2001_01');
  });
});
