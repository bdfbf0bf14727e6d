import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../src/config.js';
import { rebuildProjections } from '../src/read-side/rebuild.js';
import { stack, testPool, waitForStatus } from './helpers.js';

// Rebuilding the read models from the events, and replaying the stream into the store, on a day
// of their own in the past so that the counts compared are only this test's.

const run = promisify(execFile);
const uid = () => randomUUID().replaceAll('-', '').slice(0, 10);
const DAY = Date.UTC(2010, 0, 1) + Math.floor(Math.random() * 2900) * 86_400_000;
const at = (minutes: number) => new Date(DAY + minutes * 60_000).toISOString();

describe('projections:rebuild and replay', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let pool: pg.Pool;
  const type = `rb_${uid()}`;
  const subject = `events.frontend.system_event.${type}`;
  const users = [`ru_${uid()}`, `ru_${uid()}`];
  const ids = Array.from({ length: 6 }, () => randomUUID());
  const publishedFrom = new Date(Date.now() - 1000).toISOString();
  const env = () => childEnv({ DATABASE_URL: stack().databaseUrl, NATS_URL: stack().natsUrl, LOG_LEVEL: 'warn' });

  /** This test's share of every read model. */
  const readModels = async () => ({
    hourly: (await pool.query('SELECT hour, count::int FROM event_counts_hourly WHERE event_type = $1 ORDER BY hour', [type])).rows,
    daily: (await pool.query('SELECT day::text, count::int FROM event_counts_daily WHERE event_type = $1', [type])).rows,
    active: (
      await pool.query('SELECT day::text, user_id, events FROM daily_active_users WHERE user_id = ANY($1) ORDER BY user_id', [users])
    ).rows,
  });

  beforeAll(async () => {
    nc = await connect({ servers: stack().natsUrl });
    js = jetstream(nc);
    pool = testPool();
    for (const [i, id] of ids.entries()) {
      const body = { user_id: users[i % 2], data: { i }, timestamp: at(i * 20), received_at: at(i * 20) };
      await js.publish(subject, JSON.stringify(body), { msgID: id });
    }
    for (const id of ids) await waitForStatus(id, 'completed');
  });
  afterAll(async () => {
    await pool.query('DELETE FROM event_ids WHERE event_id = ANY($1)', [ids]);
    await pool.query('DELETE FROM events WHERE event_id = ANY($1)', [ids]);
    await pool.query('DELETE FROM event_counts_hourly WHERE event_type = $1', [type]);
    await pool.query('DELETE FROM event_counts_daily WHERE event_type = $1', [type]);
    await pool.query('DELETE FROM daily_active_users WHERE user_id = ANY($1)', [users]);
    await nc.drain();
    await pool.end();
  });

  it('arrives at the same read models, twice, and resumes where it was interrupted', async () => {
    const live = await readModels();
    expect(live.hourly.map((r) => r.count)).toEqual([3, 3]);
    expect(live.daily).toEqual([{ day: at(0).slice(0, 10), count: 6 }]);

    const first = await rebuildProjections({ pool, chunkSize: 500 });
    expect(first.resumed).toBe(false);
    expect(await readModels()).toEqual(live);

    let chunks = 0;
    await expect(
      rebuildProjections({
        pool,
        chunkSize: 2,
        onProgress: () => {
          if (++chunks === 2) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const resumed = await rebuildProjections({ pool, chunkSize: 500 });
    expect(resumed.resumed).toBe(true);
    expect(resumed.seen).toBeGreaterThanOrEqual(first.seen);
    expect(await readModels()).toEqual(live);
  });

  it('npm run projections:rebuild prints its result', async () => {
    const { stdout } = await run('npx', ['tsx', 'src/read-side/rebuild-main.ts'], { env: env(), timeout: 120_000 });
    expect(JSON.parse(stdout)).toMatchObject({ resumed: false, seen: expect.any(Number) });
  });

  it('replay stores and counts again what the database lost, and changes nothing run again', async () => {
    const before = await readModels();
    // Lost: the event and its share of the read models, as a restore from an older backup would.
    await pool.query('DELETE FROM events WHERE event_id = $1', [ids[0]]);
    await pool.query('DELETE FROM event_ids WHERE event_id = $1', [ids[0]]);
    await rebuildProjections({ pool, restart: true });
    expect((await readModels()).daily).toEqual([{ day: at(0).slice(0, 10), count: 5 }]);

    const args = ['tsx', 'src/read-side/replay-main.ts', '--since', publishedFrom, '--subject', subject];
    const once = JSON.parse((await run('npx', args, { env: env(), timeout: 120_000 })).stdout);
    expect(once).toMatchObject({ read: 6, stored: 1, counted: 1, undecodable: 0 });
    expect(await readModels()).toEqual(before);
    const stored = await pool.query('SELECT data FROM events WHERE event_id = $1', [ids[0]]);
    expect(stored.rows).toEqual([{ data: { i: 0 } }]);

    const twice = JSON.parse((await run('npx', args, { env: env(), timeout: 120_000 })).stdout);
    expect(twice).toMatchObject({ read: 6, stored: 0, counted: 0 });
    expect(await readModels()).toEqual(before);
  });

  it('replay never stores again the events of a user deleted since', async () => {
    const res = await fetch(`${stack().apiUrl}/api/users/${users[1]}/events`, { method: 'DELETE' });
    expect(await res.json()).toMatchObject({ deleted: 3 });
    const args = ['tsx', 'src/read-side/replay-main.ts', '--since', publishedFrom, '--subject', subject];
    const result = JSON.parse((await run('npx', args, { env: env(), timeout: 120_000 })).stdout);
    expect(result).toMatchObject({ read: 6, stored: 0, deleted: 3 });
    const left = await pool.query('SELECT count(*)::int AS n FROM events WHERE user_id = $1', [users[1]]);
    expect(left.rows[0].n).toBe(0);
    await pool.query('DELETE FROM user_tombstones WHERE user_id = $1', [users[1]]);
  });
});
