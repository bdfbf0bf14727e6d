import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, get, post, stack, testPool, waitForStatus } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

// A 202 is a promise: each case here is one way it used to be broken, tried as a user would.

const uniqueType = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

describe('input PostgreSQL could never store is refused at ingestion, naming the field', () => {
  const pool = testPool();
  afterAll(() => pool.end());

  it.each([
    ['a NUL in a string', { data: { s: 'a\u0000b' } }, 'data.s', 'NUL'],
    ['a NUL in a key', { data: { 'k\u0000': 1 } }, 'data.k\u0000', 'NUL'],
    ['a lone surrogate', { data: { list: ['ok', 'x\uD800'] } }, 'data.list.1', 'surrogate'],
    ['a NUL in user_id', { user_id: 'u\u0000' }, 'user_id', 'NUL'],
    ['nesting deeper than 64 levels', { data: JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`) }, 'data.', 'deeper'],
  ])('backend: %s', async (_what, fields, path, message) => {
    const eventId = randomUUID();
    const res = await post('/api/events/create', { event_id: eventId, event_type: 'poison', ...fields });
    expect(res.status).toBe(400);
    const detail = res.body.error.details.find((d: { path: string }) => d.path.startsWith(path));
    expect(detail?.message).toContain(message);
    const rows = await pool.query('SELECT 1 FROM events WHERE event_id = $1', [eventId]);
    expect(rows.rowCount).toBe(0);
  });

  it('frontend: a batch item with a NUL is rejected, the others accepted', async () => {
    const res = await post('/api/frontend/events', {
      events: [
        { event_type: 'poison', category: 'system_event', data: { s: 'a\u0000b' } },
        { event_type: 'fine', category: 'system_event', metadata: { page_url: 'https://x.test/é' } },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.results[0]).toMatchObject({
      status: 'rejected',
      errors: [{ path: 'data.s', message: expect.stringContaining('NUL') }],
    });
    expect(res.body.results[1].status).toBe('accepted');
  });
});

describe('found by npm run fuzz', () => {
  it('refuses times PostgreSQL cannot store, and a skew correction that would make one', async () => {
    for (const timestamp of ['0000-01-01T00:00:00Z', '2024-01-01T00:00:00+23:59']) {
      const res = await post('/api/events/create', { event_type: 'probe_time', timestamp });
      expect(res.status, timestamp).toBe(400);
      expect(res.body.error.details[0].path).toBe('timestamp');
    }
    const res = await post('/api/frontend/events', {
      events: [
        { event_type: 'probe_skew', category: 'system_event', timestamp: '2024-01-01T00:00:00Z', sent_at: '9999-12-31T23:59:59.999Z' },
        { event_type: 'fine', category: 'system_event' },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.results[0]).toMatchObject({ status: 'rejected', errors: [{ path: 'sent_at' }] });
  });

  it('rejects a batch item too large for a stream message once enriched, instead of asking for a retry', async () => {
    const pad = 'p'.repeat(1024 * 1024 - 200);
    const res = await post('/api/frontend/events', {
      events: [
        { event_type: 'small', category: 'system_event' },
        { event_type: 'padded', category: 'system_event', data: { pad } },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected']);
    expect(res.body.results[1].errors[0].message).toContain('bytes once enriched');
  });

  it('answers concurrent reprocesses of a closed event 202 or 409, never 500', async () => {
    const id = (await post('/api/events/create', { event_type: 'probe_race', data: {} })).body.event_id as string;
    await waitForStatus(id, 'completed');
    await eventually(async () =>
      (await get(`/api/events/${id}/status`)).body.workflow?.execution_status === 'COMPLETED' ? true : undefined,
    );
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => fetch(`${stack().apiUrl}/api/events/${id}/reprocess`, { method: 'POST' })),
    );
    // A run takes milliseconds, so a later request may restart the event again: 202 too.
    const statuses = answers.map((r) => r.status);
    expect(statuses).toContain(202);
    expect(statuses.filter((s) => s !== 202 && s !== 409)).toEqual([]);
    expect((await post(`/api/events/${id}/discard`, { reason: 'a\u0000b' })).status).toBe(400);
  });

  it('answers a bad URL, an over-long id and oversized headers with the JSON error body', async () => {
    for (const [path, headers, status] of [
      ['/api/events/%E0%A4%A/status', {}, 400],
      [`/api/events/${'a'.repeat(2000)}`, {}, 414],
      ['/api/events/00000000-0000-0000-0000-000000000000', { authorization: `Bearer ${'a'.repeat(17_000)}` }, 431],
    ] as const) {
      const res = await fetch(`${stack().apiUrl}${path}`, { headers });
      expect(res.status, path.slice(0, 40)).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string }; request_id: string };
      expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) }, request_id: expect.any(String) });
    }
  });
});

describe('errors a client can read', () => {
  it("answers an oversized body with a 413 that Node's fetch receives", async () => {
    const big = JSON.stringify({ event_type: 'too_big', data: { s: 'x'.repeat(3 * 1024 * 1024) } });
    const res = await fetch(`${stack().apiUrl}/api/events/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });
});

describe('webhook subscribers are isolated from each other', () => {
  let good: Awaited<ReturnType<typeof startReceiver>>;
  let bad: Awaited<ReturnType<typeof startReceiver>>;
  const subscriptions: string[] = [];
  const eventType = uniqueType('iso');

  beforeAll(async () => {
    good = await startReceiver(() => ({ status: 200 }));
    bad = await startReceiver(() => ({ status: 410 }));
    for (const r of [bad, good]) {
      const res = await post('/api/subscriptions', { url: r.url, subjects: [`events.backend.service.${eventType}`] });
      subscriptions.push(res.body.id);
    }
  });
  afterAll(async () => {
    for (const id of subscriptions) await fetch(`${stack().apiUrl}/api/subscriptions/${id}`, { method: 'DELETE' });
    await good.close();
    await bad.close();
  });

  it('delivers to the others when one refuses, says which failed, and re-delivers only to it', async () => {
    const id = (await post('/api/events/create', { event_type: eventType, data: { n: 1 } })).body.event_id as string;
    await waitForStatus(id, 'failed');
    expect(good.deliveredOk(id)).toHaveLength(1);
    expect(bad.to(id)).toHaveLength(1);

    const status = (await get(`/api/events/${id}/status`)).body;
    expect(status.last_error).toContain(`POST ${bad.url} answered 410`);
    const byUrl = Object.fromEntries(status.deliveries.map((d: { url: string }) => [d.url, d]));
    expect(byUrl[good.url]).toMatchObject({ status: 'delivered', response_code: 200, attempts: 1 });
    expect(byUrl[bad.url]).toMatchObject({ status: 'failed', response_code: 410, last_error: expect.stringContaining('410') });

    // docs/operating.md's own command: no body, no content type.
    bad.setResponder(() => ({ status: 200 }));
    const reprocess = await fetch(`${stack().apiUrl}/api/events/${id}/reprocess`, { method: 'POST' });
    expect(reprocess.status).toBe(202);
    await waitForStatus(id, 'completed');
    expect(good.to(id)).toHaveLength(1);
    expect(bad.deliveredOk(id)).toHaveLength(1);
    const after = (await get(`/api/events/${id}/status`)).body;
    expect(after.deliveries.map((d: { status: string }) => d.status)).toEqual(['delivered', 'delivered']);
  });

  it('keeps the reason of a reprocess that starts a new run of a closed event', async () => {
    const id = (await post('/api/events/create', { event_type: 'probe_reason', data: {} })).body.event_id as string;
    await waitForStatus(id, 'completed');
    await eventually(async () =>
      (await get(`/api/events/${id}/status`)).body.workflow?.execution_status === 'COMPLETED' ? true : undefined,
    );
    const res = await post(`/api/events/${id}/reprocess`, { reason: 'replay after the fix' });
    expect(res.body.outcome).toBe('restarted');
    const status = await eventually(async () => {
      const s = (await get(`/api/events/${id}/status`)).body;
      return s.workflow.run_id === res.body.run_id && s.status === 'completed' ? s : undefined;
    });
    expect(status.transitions.find((t: { status: string }) => t.status === 'processing')).toMatchObject({ reason: 'replay after the fix' });
  });

  it("keeps the operator's reason in the transition, the status answer and PostgreSQL", async () => {
    bad.setResponder(() => ({ status: 410 }));
    const id = (await post('/api/events/create', { event_type: eventType, data: { n: 2 } })).body.event_id as string;
    await waitForStatus(id, 'failed');
    const discard = await post(`/api/events/${id}/discard`, { reason: 'subscriber retired' });
    expect(discard.status).toBe(202);
    await waitForStatus(id, 'discarded');
    const status = await eventually(async () => {
      const s = (await get(`/api/events/${id}/status`)).body;
      return s.transitions.at(-1)?.status === 'discarded' ? s : undefined;
    });
    expect(status.transitions.at(-1)).toMatchObject({ status: 'discarded', reason: 'subscriber retired' });
    const pool = testPool();
    const row = await pool.query(`SELECT reason FROM event_status_history WHERE event_id = $1 AND status = 'discarded'`, [id]);
    await pool.end();
    expect(row.rows).toEqual([{ reason: 'subscriber retired' }]);
  });
});

describe('the bridge is supervised', () => {
  it('recreates its consumer when it is deleted, keeps starting workflows, and says so on /health/ready', async () => {
    expect((await fetch(`${stack().workerHealthUrl}/health/live`)).status).toBe(200);
    const nc = await connect({ servers: stack().natsUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete('EVENTS', 'event-bridge');
    await nc.close();

    const id = (await post('/api/events/create', { event_type: 'after_consumer_loss', data: {} })).body.event_id as string;
    await waitForStatus(id, 'completed', 45_000);
    const ready = await eventually(async () => {
      const res = await fetch(`${stack().workerHealthUrl}/health/ready`);
      const body = (await res.json()) as { checks: { bridge: { consuming: boolean; restarts: number; backlog: unknown } } };
      return res.status === 200 && body.checks.bridge.consuming ? body : undefined;
    });
    expect(ready.checks.bridge.restarts).toBeGreaterThanOrEqual(1);
    expect(ready.checks.bridge.backlog).toMatchObject({ pending: expect.any(Number) });
  });
});
