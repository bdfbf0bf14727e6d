import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_ENV, bearer, hs256 } from './auth-tokens.js';
import { get, post, testPool, waitForStatus } from './helpers.js';
import { startApp } from './in-process-app.js';

// The query API against the running service: events sent as a client sends them, read back
// as a client reads them.

const uid = () => randomUUID().replaceAll('-', '').slice(0, 12);
type Item = { event_id: string; event_type: string; received_at: string; status: string; data: Record<string, unknown> };

async function sendSession() {
  const user = `u_${uid()}`;
  const session = `s_${uid()}`;
  const eventType = `q_${uid()}`;
  const start = Date.now() - 60_000;
  const events = [
    { event_type: eventType, category: 'user_interaction', data: { plan: 'free', n: 0 } },
    { event_type: eventType, category: 'user_interaction', data: { plan: 'pro', n: 1 } },
    { event_type: `${eventType}_buy`, category: 'business_action', data: { plan: 'pro', n: 2, cart: { items: 3 } } },
    { event_type: eventType, category: 'user_interaction', data: { plan: 'free', n: 3 } },
    { event_type: eventType, category: 'system_event', data: { n: 4 } },
  ].map((e, i) => ({
    ...e,
    event_id: randomUUID(),
    user_id: user,
    session_id: session,
    timestamp: new Date(start + i * 10_000).toISOString(),
  }));
  // One at a time, each completed before the next is sent: the order, and each one's status
  // when the next arrived, are known.
  for (const e of events) {
    expect((await post('/api/frontend/events', e)).status).toBe(202);
    await waitForStatus(e.event_id, 'completed');
  }
  return { user, session, eventType, events, start };
}

describe('the query API', () => {
  it("pages through a user's timeline, newest first, each event once", async () => {
    const { user, events } = await sendSession();
    const seen: Item[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/api/users/${user}/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items);
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id).reverse());
    const times = seen.map((e) => e.received_at);
    expect([...times].sort().reverse()).toEqual(times);

    const asc = await get(`/api/users/${user}/events?order=asc&limit=10`);
    expect(asc.body.items.map((e: Item) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(asc.body.next_cursor).toBeNull();
  });

  it('filters by type, category, source, status, time and JSON containment on data', async () => {
    const { eventType, events, session } = await sendSession();
    const ids = (res: { body: Record<string, any> }) => res.body.items.map((e: Item) => e.event_id).sort();
    const idsOf = (...i: number[]) => i.map((n) => events[n]!.event_id).sort();
    expect(ids(await get(`/api/events?event_type=${eventType}`))).toEqual(idsOf(0, 1, 3, 4));
    expect(ids(await get(`/api/events?event_type=${eventType}&category=system_event`))).toEqual(idsOf(4));
    expect(ids(await get(`/api/events?session_id=${session}&category=business_action&source=frontend&status=completed`))).toEqual(idsOf(2));
    expect(ids(await get(`/api/events?session_id=${session}&source=backend`))).toEqual([]);
    const contains = (json: object) => `data=${encodeURIComponent(JSON.stringify(json))}`;
    expect(ids(await get(`/api/events?session_id=${session}&${contains({ plan: 'pro' })}`))).toEqual(idsOf(1, 2));
    expect(ids(await get(`/api/events?${contains({ cart: { items: 3 }, plan: 'pro' })}&session_id=${session}`))).toEqual(idsOf(2));

    const all = (await get(`/api/events?session_id=${session}&order=asc`)).body.items as Item[];
    const from = all[1]!.received_at;
    const to = all[3]!.received_at;
    expect(ids(await get(`/api/events?session_id=${session}&from=${from}&to=${to}`))).toEqual(idsOf(1, 2));
  });

  it('answers a session with its events in order, its start, end and duration', async () => {
    const { session, user, events, start } = await sendSession();
    const res = await get(`/api/sessions/${session}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      session_id: session,
      user_ids: [user],
      started_at: new Date(start).toISOString(),
      ended_at: new Date(start + 40_000).toISOString(),
      duration_ms: 40_000,
      event_count: 5,
      next_cursor: null,
    });
    expect(res.body.events.map((e: Item) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect((await get(`/api/sessions/s_${uid()}`)).status).toBe(404);
  });

  it("answers a user's timeline as of a time: only what had been received, with the status then", async () => {
    const { user, events } = await sendSession();
    const asc = (await get(`/api/users/${user}/events?order=asc`)).body.items as Item[];
    const before = new Date(Date.parse(asc[0]!.received_at) - 1).toISOString();
    expect((await get(`/api/users/${user}/events?as_of=${before}`)).body.items).toEqual([]);
    const atSecond = asc[1]!.received_at;
    const then = (await get(`/api/users/${user}/events?as_of=${atSecond}&order=asc`)).body.items as Item[];
    expect(then.map((e) => e.event_id)).toEqual(events.slice(0, 2).map((e) => e.event_id));
    expect(then[0]!.status).toBe('completed');
    // Received at that very moment, it had not been processed yet.
    expect(['pending', 'processing']).toContain(then[1]!.status);
  });

  it('refuses a page over the cap, a cursor it did not give, unknown parameters and data that is not an object', async () => {
    for (const [query, code] of [
      ['limit=1001', 'validation_error'],
      ['cursor=bm90LWEtY3Vyc29y', 'invalid_cursor'],
      ['colour=red', 'validation_error'],
      [`data=${encodeURIComponent('[1,2]')}`, 'validation_error'],
      ['data=%7Bnot-json', 'validation_error'],
      ['status=lost', 'validation_error'],
    ]) {
      const res = await get(`/api/events?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe(code);
    }
  });
});

describe('the read side with authentication on', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ app, close } = await startApp(AUTH_ENV));
  });
  afterAll(() => close());

  it('reads with events:read, deletes only with events:admin, and refuses without a token', async () => {
    const as = async (scope: string) => bearer(await hs256({ scope }));
    const user = `u_${uid()}`;
    expect((await app.inject({ url: `/api/users/${user}/events`, headers: await as('events:read') })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/stats/active-users', headers: await as('events:read') })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/events' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/events', headers: await as('events:write') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/api/users/${user}/events`, headers: await as('events:read') })).statusCode).toBe(
      403,
    );
    const deleted = await app.inject({
      method: 'DELETE',
      url: `/api/users/${user}/events`,
      headers: bearer(await hs256({ scope: 'events:admin' }, { sub: 'privacy-officer' })),
    });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toMatchObject({ user_id: user, deleted: 0 });
    const pool = testPool();
    try {
      const tomb = await pool.query('DELETE FROM user_tombstones WHERE user_id = $1 RETURNING actor', [user]);
      expect(tomb.rows).toEqual([{ actor: 'privacy-officer' }]);
    } finally {
      await pool.end();
    }
  });
});
