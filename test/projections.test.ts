import { randomUUID } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectEvent } from '../src/read-side/projections.js';
import { eventually, get, post, stack, testPool, waitForStatus } from './helpers.js';

// The read models as the service keeps them: events published with a received_at on a day of
// their own in the past (NATS accepts one), so that every statistic of that day is exactly
// what this test sent, then read through the stats endpoints.

const uid = () => randomUUID().replaceAll('-', '').slice(0, 10);
// A day of its own for each run: between 2002 and 2009, picked at random.
const DAY = Date.UTC(2002, 0, 1) + Math.floor(Math.random() * 2900) * 86_400_000;
const at = (hhmm: string) => new Date(DAY + Number(hhmm.slice(0, 2)) * 3_600_000 + Number(hhmm.slice(3)) * 60_000).toISOString();
const day = new Date(DAY).toISOString();
const nextDay = new Date(DAY + 86_400_000).toISOString();

describe('projections and the stats endpoints', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let pool: pg.Pool;
  const [view, cart, buy] = [`view_${uid()}`, `cart_${uid()}`, `buy_${uid()}`];
  const [u1, u2, u3] = [`u1_${uid()}`, `u2_${uid()}`, `u3_${uid()}`];
  const [s1, s2] = [`s1_${uid()}`, `s2_${uid()}`];
  const sent: { id: string; type: string; user: string; session?: string; time: string }[] = [
    { id: randomUUID(), type: view, user: u1, session: s1, time: at('10:05') },
    { id: randomUUID(), type: cart, user: u1, session: s1, time: at('10:20') },
    { id: randomUUID(), type: view, user: u2, session: s2, time: at('10:30') },
    { id: randomUUID(), type: cart, user: u2, session: s2, time: at('10:40') },
    { id: randomUUID(), type: buy, user: u1, session: s1, time: at('11:10') },
    { id: randomUUID(), type: view, user: u3, time: at('12:00') },
  ];

  beforeAll(async () => {
    nc = await connect({ servers: stack().natsUrl });
    js = jetstream(nc);
    pool = testPool();
    for (const e of sent) {
      const body = { user_id: e.user, ...(e.session && { session_id: e.session }), data: { n: 1 }, timestamp: e.time, received_at: e.time };
      await js.publish(`events.frontend.user_interaction.${e.type}`, JSON.stringify(body), { msgID: e.id });
    }
    for (const e of sent) await waitForStatus(e.id, 'completed');
  });
  afterAll(async () => {
    await pool.query('DELETE FROM event_ids WHERE event_id = ANY($1)', [sent.map((e) => e.id)]);
    await pool.query('DELETE FROM events WHERE event_id = ANY($1)', [sent.map((e) => e.id)]);
    await pool.query('DELETE FROM event_counts_hourly WHERE event_type = ANY($1)', [[view, cart, buy]]);
    await pool.query('DELETE FROM event_counts_daily WHERE event_type = ANY($1)', [[view, cart, buy]]);
    await pool.query('DELETE FROM daily_active_users WHERE user_id = ANY($1)', [[u1, u2, u3]]);
    await pool.query('DELETE FROM session_summaries WHERE session_id = ANY($1)', [[s1, s2]]);
    await nc.drain();
    await pool.end();
  });

  const counts = (res: { body: Record<string, any> }) =>
    (res.body.buckets as { bucket: string; event_type: string; count: number }[]).map((b) => [b.bucket, b.event_type, b.count]);

  it('counts per type per hour and per day, and as of a time inside a bucket', async () => {
    const hourly = await get(`/api/stats/event-types?from=${day}&to=${nextDay}`);
    expect(hourly.status).toBe(200);
    expect(counts(hourly)).toEqual(
      [
        [at('10:00'), view, 2],
        [at('10:00'), cart, 2],
        [at('11:00'), buy, 1],
        [at('12:00'), view, 1],
      ].sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`)),
    );
    expect(hourly.body.total).toBe(6);
    expect(hourly.body.totals).toEqual([
      { event_type: view, count: 3 },
      { event_type: cart, count: 2 },
      { event_type: buy, count: 1 },
    ]);

    const daily = await get(`/api/stats/event-types?from=${day}&to=${nextDay}&granularity=day&event_type=${cart}`);
    expect(counts(daily)).toEqual([[day, cart, 2]]);

    const asOfHour = await get(`/api/stats/event-types?from=${day}&to=${nextDay}&as_of=${at('10:35')}`);
    expect(asOfHour.body.as_of).toBe(at('10:35'));
    expect(counts(asOfHour)).toEqual(
      [
        [at('10:00'), cart, 1],
        [at('10:00'), view, 2],
      ].sort((a, b) => `${a[1]}`.localeCompare(`${b[1]}`)),
    );
    const asOfDay = await get(`/api/stats/event-types?from=${day}&to=${nextDay}&granularity=day&as_of=${at('11:30')}`);
    expect(asOfDay.body.total).toBe(5);
  });

  it('counts daily active users and sessions, now and as of a time', async () => {
    const active = await get(`/api/stats/active-users?from=${day}&to=${nextDay}`);
    expect(active.body).toMatchObject({ days: [{ day: day.slice(0, 10), active_users: 3 }], distinct_users: 3 });
    expect((await get(`/api/stats/active-users?from=${day}&to=${nextDay}&as_of=${at('10:10')}`)).body.distinct_users).toBe(1);

    const sessions = await get(`/api/stats/sessions?from=${day}&to=${nextDay}`);
    expect(sessions.body).toMatchObject({ sessions: 2, events: 5, avg_duration_ms: ((65 + 10) / 2) * 60_000, avg_events: 2.5 });
    const then = await get(`/api/stats/sessions?from=${day}&to=${nextDay}&as_of=${at('10:35')}`);
    expect(then.body).toMatchObject({ sessions: 2, events: 3, avg_duration_ms: ((15 + 0) / 2) * 60_000 });
  });

  it('answers a funnel with the conversion of each step, within the window', async () => {
    const body = { steps: [view, cart, buy], window: '1h', from: day, to: nextDay };
    const oneHour = await post('/api/stats/funnel', body);
    expect(oneHour.status).toBe(200);
    expect(oneHour.body.steps).toEqual([
      { step: view, users: 3, conversion_from_previous: 1, conversion_from_first: 1 },
      { step: cart, users: 2, conversion_from_previous: 0.6667, conversion_from_first: 0.6667 },
      { step: buy, users: 0, conversion_from_previous: 0, conversion_from_first: 0 },
    ]);
    const twoHours = await post('/api/stats/funnel', { ...body, window: '2h' });
    expect(twoHours.body.steps.map((s: { users: number }) => s.users)).toEqual([3, 2, 1]);
    expect((await post('/api/stats/funnel', { ...body, steps: [view] })).status).toBe(400);
  });

  it('counts an event once, however often it is processed again', async () => {
    const before = await pool.query('SELECT hour, count FROM event_counts_hourly WHERE event_type = $1', [buy]);
    const target = sent[4]!;
    // PostgreSQL says completed when the activity ends; the run closes with the workflow task
    // after it, and reprocessing a run that is still open is refused (409).
    await eventually(
      async () => {
        const s = await get(`/api/events/${target.id}/status`);
        return s.body.workflow?.execution_status === 'COMPLETED' ? true : undefined;
      },
      30_000,
      'the run to close',
    );
    const res = await post(`/api/events/${target.id}/reprocess`, {});
    expect(res.status).toBe(202);
    await eventually(
      async () => {
        const n = await pool.query(`SELECT count(*)::int AS n FROM event_status_history WHERE event_id = $1 AND status = 'completed'`, [
          target.id,
        ]);
        return n.rows[0].n === 2 ? true : undefined;
      },
      30_000,
      'the second completion',
    );
    const stored = await get(`/api/events/${target.id}`);
    expect(await projectEvent(pool, stored.body as never)).toBe(false);
    const after = await pool.query('SELECT hour, count FROM event_counts_hourly WHERE event_type = $1', [buy]);
    expect(after.rows).toEqual(before.rows);
    expect(after.rows.map((r) => Number(r.count))).toEqual([1]);
    const dau = await pool.query('SELECT events FROM daily_active_users WHERE user_id = $1', [u1]);
    expect(dau.rows).toEqual([{ events: 3 }]);
  });

  it('answers again from the cache', async () => {
    const url = `/api/stats/event-types?from=${day}&to=${nextDay}&granularity=day`;
    const first = await fetch(`${stack().apiUrl}${url}`);
    const second = await fetch(`${stack().apiUrl}${url}`);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(await second.json()).toEqual(await first.json());
  });

  it("deletes a user's events and their share of every read model, leaves a tombstone, and invalidates the cache", async () => {
    const url = `/api/stats/event-types?from=${day}&to=${nextDay}&granularity=day`;
    expect((await get(url)).body.total).toBe(6);
    const res = await fetch(`${stack().apiUrl}/api/users/${u1}/events`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: u1, deleted: 3, sessions: 1 });

    const after = await get(url);
    expect(after.headers.get('x-cache')).toBe('miss');
    expect(counts(after)).toEqual(
      [
        [day, view, 2],
        [day, cart, 1],
      ].sort((a, b) => `${a[1]}`.localeCompare(`${b[1]}`)),
    );
    expect((await get(`/api/stats/active-users?from=${day}&to=${nextDay}`)).body.distinct_users).toBe(2);
    expect((await get(`/api/stats/sessions?from=${day}&to=${nextDay}`)).body).toMatchObject({ sessions: 1, events: 2 });
    expect(
      (await post('/api/stats/funnel', { steps: [view, cart], window: '1h', from: day, to: nextDay })).body.steps.map(
        (s: { users: number }) => s.users,
      ),
    ).toEqual([2, 1]);
    expect((await get(`/api/users/${u1}/events`)).body.items).toEqual([]);
    expect((await get(`/api/events/${sent[0]!.id}`)).status).toBe(404);
    const left = await pool.query('SELECT count(*)::int AS n FROM event_status_history WHERE event_id = ANY($1)', [
      sent.slice(0, 2).map((e) => e.id),
    ]);
    expect(left.rows[0].n).toBe(0);
    const tomb = await pool.query('SELECT deleted FROM user_tombstones WHERE user_id = $1', [u1]);
    expect(tomb.rows).toEqual([{ deleted: 3 }]);
    await pool.query('DELETE FROM user_tombstones WHERE user_id = $1', [u1]);
  });
});
