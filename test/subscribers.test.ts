import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, get, post, stack, testPool, testTemporal, waitForStatus } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

// Subscribers that fail, pause, resume and replay, against the real stack (docs/subscribers.md).
// The test deployment probes a paused subscriber 500 ms after the pause, backing off to 2 s
// (test/stack-settings.ts); each subscription sets its own pause threshold.

const uniqueType = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

async function del(path: string) {
  return (await fetch(`${stack().apiUrl}${path}`, { method: 'DELETE' })).status;
}

describe('subscribers that wait instead of failing', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let subscriptionId: string | undefined;
  let eventType: string;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  afterEach(async () => {
    if (subscriptionId) await del(`/api/subscriptions/${subscriptionId}`);
    subscriptionId = undefined;
    receiver.setResponder(() => ({ status: 200 }));
  });

  async function subscribe(settings: object = {}, secret?: string) {
    eventType = uniqueType('sub');
    const res = await post('/api/subscriptions', {
      url: receiver.url,
      subjects: [`events.backend.service.${eventType}`],
      settings,
      ...(secret && { secret }),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'active', settings });
    subscriptionId = res.body.id as string;
    return subscriptionId;
  }

  async function send(data: object = {}) {
    const res = await post('/api/events/create', { event_type: eventType, data });
    expect(res.status).toBe(202);
    return res.body.event_id as string;
  }

  const subscription = async () => (await get(`/api/subscriptions/${subscriptionId}`)).body;
  const deliveries = async (query = '') => (await get(`/api/subscriptions/${subscriptionId}/deliveries${query}`)).body.items as any[];
  const receivedOrder = (ids: string[]) =>
    receiver.received
      .filter((r) => r.answered < 300 && ids.includes(r.headers['x-event-id'] as string))
      .map((r) => r.headers['x-event-id']);

  it('turns a subscriber outage under steady load into waiting deliveries: no event fails, each is delivered once after it recovers', async () => {
    const id = await subscribe({ pause_after_failures: 3, failure_window_ms: 60_000, drain_rate: 50 });
    let down = true;
    receiver.setResponder(() => ({ status: down ? 500 : 200 }));
    const sent: string[] = [];
    const began = Date.now();
    // 5 events/s for 8 s; the subscriber answers 500 for the first 5 s.
    const load = (async () => {
      for (let i = 0; i < 40; i++) {
        sent.push(await send({ i }));
        await sleep(200);
      }
    })();
    await eventually(async () => ((await subscription()).state === 'paused' ? true : undefined), 15_000, 'the subscriber to be paused');
    const paused = await subscription();
    expect(paused).toMatchObject({ state: 'paused', state_by: 'service', health: { last_response_code: 500 } });
    expect(paused.state_reason).toContain('failed deliveries in a row');
    await sleep(Math.max(0, began + 5_000 - Date.now()));
    down = false;
    await load;

    for (const eventId of sent) await waitForStatus(eventId, 'completed', 30_000);
    await eventually(
      async () => (sent.every((e) => receiver.deliveredOk(e).length >= 1) ? true : undefined),
      45_000,
      'every event delivered after the recovery',
    );
    await sleep(1_000);
    for (const eventId of sent) expect(receiver.deliveredOk(eventId), eventId).toHaveLength(1);

    const pool = testPool();
    try {
      const rows = await pool.query(
        `SELECT e.status, d.status AS delivery FROM events e JOIN webhook_deliveries d ON d.event_id = e.event_id AND d.subscription_id = $2
          WHERE e.event_id = ANY($1::uuid[])`,
        [sent, id],
      );
      expect(rows.rows).toHaveLength(sent.length);
      expect(new Set(rows.rows.map((r) => `${r.status}/${r.delivery}`))).toEqual(new Set(['completed/delivered']));
    } finally {
      await pool.end();
    }
    expect(await subscription()).toMatchObject({ state: 'active', waiting: 0, health: { consecutive_failures: 0 } });
  }, 120_000);

  it('holds deliveries while an operator pauses the subscriber, shows them waiting, and sends them oldest first on resume', async () => {
    const id = await subscribe({ drain_rate: 20 });
    const pause = await post(`/api/subscriptions/${id}/pause`, { reason: 'receiver maintenance' });
    expect(pause.status).toBe(200);
    expect(pause.body).toMatchObject({ state: 'paused', state_by: 'operator', state_reason: 'receiver maintenance' });
    // The workers hear of the pause through PostgreSQL's NOTIFY; give it a moment.
    await sleep(300);

    const sent: string[] = [];
    for (let i = 0; i < 6; i++) sent.push(await send({ i }));
    for (const eventId of sent) await waitForStatus(eventId, 'completed');
    expect(receiver.deliveredOk(sent[0]!)).toHaveLength(0);

    // The event is completed; its delivery is listed as waiting, on the event and on the subscription.
    const status = (await get(`/api/events/${sent[0]}/status`)).body;
    expect(status.deliveries).toEqual([expect.objectContaining({ subscription_id: id, status: 'waiting' })]);
    const waiting = await deliveries('?status=waiting');
    expect(waiting.map((d) => d.event_id)).toEqual(sent);
    expect(waiting[0]).toMatchObject({ webhook_id: sent[0], attempts: 0, waiting_since: expect.any(String) });
    expect((await subscription()).waiting).toBe(6);
    // …and in the worker's metrics, read when scraped.
    const metrics = await (await fetch(`${stack().workerHealthUrl}/metrics`)).text();
    expect(metrics).toContain(`event_service_subscriber_waiting_deliveries{subscription="${id}"} 6`);
    expect(metrics).toContain(`event_service_subscriber_state{subscription="${id}",state="paused"} 1`);
    expect(metrics).toContain(`event_service_subscriber_state{subscription="${id}",state="active"} 0`);

    // The Temporal UI finds it by its search attributes.
    const temporal = await testTemporal();
    try {
      await eventually(
        async () => {
          for await (const wf of temporal.workflow.list({ query: `SubscriberState = "paused" AND SubscriberWaiting > 0` })) {
            if (wf.workflowId === `subscriber-${id}`) return true;
          }
          return undefined;
        },
        20_000,
        'the subscriber workflow listed as paused with deliveries waiting',
      );
    } finally {
      await temporal.connection.close();
    }

    const resume = await post(`/api/subscriptions/${id}/resume`, { reason: 'back' });
    expect(resume.body).toMatchObject({ state: 'active', state_reason: 'back' });
    await eventually(async () => (receivedOrder(sent).length >= sent.length ? true : undefined), 20_000, 'the waiting deliveries');
    expect(receivedOrder(sent)).toEqual(sent);
    await eventually(async () => ((await deliveries('?status=delivered')).length === sent.length ? true : undefined), 10_000, 'recorded');
  }, 90_000);

  it('expires a delivery that waited longer than the maximum, lists it with the reason, and re-sends it', async () => {
    const id = await subscribe({ max_wait_ms: 1_500 });
    await post(`/api/subscriptions/${id}/pause`, {});
    await sleep(300);
    const eventId = await send();
    await waitForStatus(eventId, 'completed');
    const [expired] = await eventually(
      async () => {
        const found = await deliveries('?status=expired');
        return found.length > 0 ? found : undefined;
      },
      15_000,
      'the delivery to expire',
    );
    expect(expired).toMatchObject({
      event_id: eventId,
      status: 'expired',
      last_error: expect.stringContaining('waited longer than 1500 ms'),
    });

    await post(`/api/subscriptions/${id}/resume`, {});
    const resend = await post(`/api/subscriptions/${id}/deliveries/${eventId}/resend`, {});
    expect(resend.status).toBe(202);
    await eventually(async () => (receiver.deliveredOk(eventId).length === 1 ? true : undefined), 15_000, 'the re-sent delivery');
  }, 60_000);

  it('skips deliveries to a disabled subscriber, and the event still completes', async () => {
    const id = await subscribe();
    const disabled = await post(`/api/subscriptions/${id}/disable`, { reason: 'retired' });
    expect(disabled.body).toMatchObject({ state: 'disabled', state_reason: 'retired' });
    await sleep(300);
    const eventId = await send();
    await waitForStatus(eventId, 'completed');
    const [d] = await deliveries();
    expect(d).toMatchObject({ event_id: eventId, status: 'skipped' });
    expect(receiver.to(eventId)).toHaveLength(0);
  });

  it('replays a time range as a job with progress, with the same webhook-id each time', async () => {
    const id = await subscribe({}, 'a-long-replay-secret');
    const since = new Date(Date.now() - 1_000).toISOString();
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) sent.push(await send({ i }));
    for (const eventId of sent) await waitForStatus(eventId, 'completed');
    const until = new Date(Date.now() + 1_000).toISOString();
    const log = await deliveries('?status=delivered');
    expect(log.map((d) => d.event_id)).toEqual(sent);
    expect(log[0]).toMatchObject({ status: 'delivered', attempts: 1, response_code: 200, latency_ms: expect.any(Number) });

    const replay = await post(`/api/subscriptions/${id}/replays`, { since, until, reason: 'receiver lost its data' });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ matched: 3, replay_id: expect.any(String) });
    const progress = await eventually(
      async () => {
        const p = (await get(replay.body.follow)).body;
        return p.done ? p : undefined;
      },
      20_000,
      'the replay to finish',
    );
    expect(progress).toMatchObject({ matched: 3, counts: { delivered: 3 }, reason: 'receiver lost its data' });
    for (const eventId of sent) {
      const both = receiver.deliveredOk(eventId);
      expect(both).toHaveLength(2);
      expect(both.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);
    }
  }, 60_000);

  it('with ordering on, delivers each key in order, each after the one before it, while a failing key holds only itself', async () => {
    await subscribe({
      ordering_key: 'data.account',
      retry: { max_attempts: 100, initial_interval_ms: 200, backoff: 1, max_interval_ms: 200 },
    });
    let aDown = true;
    receiver.setResponder((_n, request) => ({ status: aDown && JSON.parse(request.body).data.account === 'a' ? 503 : 200 }));
    const a: string[] = [];
    const b: string[] = [];
    for (let i = 0; i < 4; i++) {
      a.push(await send({ account: 'a', i }));
      b.push(await send({ account: 'b', i }));
    }
    for (const eventId of [...a, ...b]) await waitForStatus(eventId, 'completed');
    // Key b keeps flowing while key a fails.
    await eventually(async () => (receivedOrder(b).length === b.length ? true : undefined), 20_000, 'key b delivered');
    expect(receivedOrder(a)).toEqual([]);
    expect(receiver.to(a[0]!).length).toBeGreaterThan(0);
    aDown = false;
    await eventually(async () => (receivedOrder(a).length === a.length ? true : undefined), 20_000, 'key a delivered once it recovers');
    expect(receivedOrder(a)).toEqual(a);
    expect(receivedOrder(b)).toEqual(b);
    // Each of a's later deliveries was sent only after the one before it was delivered: once.
    for (const eventId of a.slice(1)) expect(receiver.to(eventId), eventId).toHaveLength(1);
  }, 60_000);

  it("retries on the subscription's own schedule, and fails its delivery once the subscription's attempts are spent", async () => {
    await subscribe({ retry: { max_attempts: 2, initial_interval_ms: 1_500, backoff: 1, max_interval_ms: 1_500 } });
    receiver.setResponder(() => ({ status: 500 }));
    const eventId = await send();
    // Two attempts, though the event's budget is three (test/stack-settings.ts), 1.5 s apart, not 100-200 ms.
    const failed = await waitForStatus(eventId, 'failed', 20_000);
    expect(failed.attempts).toBe(2);
    const tries = receiver.to(eventId);
    expect(tries).toHaveLength(2);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1_400);
    expect((await deliveries())[0]).toMatchObject({ event_id: eventId, status: 'failed', attempts: 2, response_code: 500 });
  }, 30_000);

  it('refuses settings out of range and answers 404 for an unknown subscription', async () => {
    const bad = await post('/api/subscriptions', {
      url: receiver.url,
      subjects: ['events.>'],
      settings: { pause_after_failures: 0 },
    });
    expect(bad.status).toBe(400);
    expect((await post(`/api/subscriptions/${randomUUID()}/pause`, {})).status).toBe(404);
    expect((await get(`/api/subscriptions/${randomUUID()}/deliveries`)).status).toBe(404);
  });
});
