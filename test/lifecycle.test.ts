import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_STACK_FRAMES } from '../src/worker/create-worker.js';
import { eventually, get, post, stack, testPool, testTemporal, waitForStatus } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

// The test deployment retries processing 3 times, 100-200 ms apart (test/stack-settings.ts).
const MAX_ATTEMPTS = 3;

async function del(path: string) {
  return (await fetch(`${stack().apiUrl}${path}`, { method: 'DELETE' })).status;
}

describe('event lifecycle with a webhook subscriber', () => {
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
  });

  async function subscribe(secret?: string) {
    eventType = `lc_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const res = await post('/api/subscriptions', {
      url: receiver.url,
      subjects: [`events.backend.service.${eventType}`],
      ...(secret && { secret }),
    });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('secret');
    subscriptionId = res.body.id;
  }

  async function send(data: object = {}) {
    const res = await post('/api/events/create', { event_type: eventType, data });
    expect(res.status).toBe(202);
    return res.body.event_id as string;
  }

  it('delivers a completed event once, signed, with its id in a header', async () => {
    const secret = 's3cret-s3cret-s3cret';
    await subscribe(secret);
    receiver.setResponder(() => ({ status: 204 }));
    const id = await send({ order: 7 });
    await waitForStatus(id, 'completed');
    const [delivery, ...more] = receiver.to(id);
    expect(more).toHaveLength(0);
    expect(JSON.parse(delivery!.body)).toMatchObject({ event_id: id, event_type: eventType, data: { order: 7 } });
    // Standard Webhooks, checked as a subscriber would: id, recent timestamp, signature over both.
    const { 'webhook-id': msgId, 'webhook-timestamp': ts, 'webhook-signature': signature } = delivery!.headers as Record<string, string>;
    expect(msgId).toBe(id);
    expect(Math.abs(Date.now() / 1000 - Number(ts))).toBeLessThan(300);
    expect(signature).toBe(`v1,${createHmac('sha256', secret).update(`${msgId}.${ts}.${delivery!.body}`).digest('base64')}`);
    // At rest the secret is sealed with the payload key ring.
    const pool = testPool();
    const stored = (await pool.query('SELECT secret FROM subscriptions WHERE id = $1', [subscriptionId])).rows[0].secret as string;
    await pool.end();
    expect(stored).toMatch(/^sealed:v1:/);
    expect(stored).not.toContain(secret);
  });

  it('parks a failing event as failed after the retries, then completes it on reprocess, delivered once', async () => {
    await subscribe();
    receiver.setResponder(() => ({ status: 500 }));
    const id = await send();
    const failed = await waitForStatus(id, 'failed');
    expect(failed).toMatchObject({ attempts: MAX_ATTEMPTS, last_error: expect.stringContaining('answered 500') });
    expect(receiver.to(id)).toHaveLength(MAX_ATTEMPTS);

    const status = await get(`/api/events/${id}/status`);
    expect(status.body).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, workflow: { execution_status: 'RUNNING' } });
    expect(status.body.last_error).toContain('answered 500');
    const listed = await eventually(
      async () => {
        const res = await get(`/api/events/failed?event_type=${eventType}`);
        return res.body.items?.some((i: { event_id: string }) => i.event_id === id) ? res.body : undefined;
      },
      15_000,
      'the parked event in /api/events/failed',
    );
    expect(listed.query).toContain("EventStatus = 'failed'");

    receiver.setResponder(() => ({ status: 200 }));
    const reprocess = await post(`/api/events/${id}/reprocess`, {});
    expect(reprocess.status).toBe(202);
    expect(reprocess.body.outcome).toBe('signalled');
    await waitForStatus(id, 'completed');
    expect(receiver.deliveredOk(id)).toHaveLength(1);
    const transitions = (await get(`/api/events/${id}/status`)).body.transitions.map((t: { status: string }) => t.status);
    expect(transitions).toEqual(['pending', 'processing', 'failed', 'processing', 'completed']);
  });

  it('follows no redirect: a 307 fails the attempt, and where it points receives nothing', async () => {
    // A redirect to an address written in its Location would skip the destination check.
    const elsewhere = await startReceiver();
    try {
      await subscribe();
      receiver.setResponder(() => ({ status: 307, headers: { location: elsewhere.url } }));
      const id = await send();
      const failed = await waitForStatus(id, 'failed');
      expect(failed.last_error).toContain('answered 307');
      expect(receiver.to(id)).toHaveLength(MAX_ATTEMPTS);
      expect(elsewhere.received).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });

  it("shows in a parked event's stack trace, as the Temporal UI does, that its workflow waits for an operator", async () => {
    await subscribe();
    receiver.setResponder(() => ({ status: 500 }));
    const id = await send();
    await waitForStatus(id, 'failed');
    // The worker keeps few frames per workflow promise (WORKFLOW_STACK_FRAMES, for its CPU): the
    // limit must hold in the worker (the SDK's hook drops its own first frame), and the trace
    // must still point an operator at the line where the event workflow waits.
    const temporal = await testTemporal({ readPayloads: true });
    try {
      const trace = await temporal.workflow.getHandle(id).query<string>('__stack_trace');
      const longest = Math.max(...trace.split('\n\n').map((stack) => stack.trim().split('\n').length));
      expect(longest, trace).toBeLessThanOrEqual(WORKFLOW_STACK_FRAMES - 1);
      const line = Number(/at waitForOperator \([^)]*src\/workflows\/event-workflow\.ts:(\d+):\d+\)/.exec(trace)?.[1]);
      const source = readFileSync(new URL('../src/workflows/event-workflow.ts', import.meta.url), 'utf8').split('\n');
      expect(source[line - 1], trace).toContain('await condition(');
    } finally {
      await temporal.connection.close();
    }
  });

  it('fails without retry when the subscriber answers 4xx', async () => {
    await subscribe();
    receiver.setResponder(() => ({ status: 422 }));
    const id = await send();
    const failed = await waitForStatus(id, 'failed');
    expect(failed.attempts).toBe(1);
    expect(receiver.to(id)).toHaveLength(1);
  });

  it('discards a parked event', async () => {
    await subscribe();
    receiver.setResponder(() => ({ status: 503 }));
    const id = await send();
    await waitForStatus(id, 'failed');
    const res = await post(`/api/events/${id}/discard`, { reason: 'bad data' });
    expect(res.status).toBe(202);
    await waitForStatus(id, 'discarded');
    const status = await eventually(async () => {
      const s = await get(`/api/events/${id}/status`);
      return s.body.workflow.execution_status === 'COMPLETED' ? s.body : undefined;
    });
    expect(status.status).toBe('discarded');
    expect((await post(`/api/events/${id}/discard`, {})).status).toBe(409);
  });

  it('reprocesses a completed event as a new run, without delivering it again', async () => {
    await subscribe();
    receiver.setResponder(() => ({ status: 200 }));
    const id = await send();
    await waitForStatus(id, 'completed');
    const firstRun = (await get(`/api/events/${id}/status`)).body.workflow.run_id;
    const res = await post(`/api/events/${id}/reprocess`, {});
    expect(res.status).toBe(202);
    expect(res.body.outcome).toBe('restarted');
    expect(res.body.run_id).not.toBe(firstRun);
    // The run answers `completed` a moment before it closes: wait for both.
    const status = await eventually(async () => {
      const s = await get(`/api/events/${id}/status`);
      return s.body.workflow.run_id === res.body.run_id && s.body.status === 'completed' && s.body.workflow.execution_status === 'COMPLETED'
        ? s.body
        : undefined;
    });
    expect(status.workflow.execution_status).toBe('COMPLETED');
    expect(receiver.deliveredOk(id)).toHaveLength(1);
  });

  it('counts, dry-runs and bulk-reprocesses failed events by filter', async () => {
    await subscribe();
    receiver.setResponder(() => ({ status: 500 }));
    const ids = [await send(), await send()];
    for (const id of ids) await waitForStatus(id, 'failed');

    // Visibility is eventually consistent: wait until the counts settle on both parked events.
    const summary = await eventually(
      async () => {
        const s = await get(`/api/events/status-summary?event_type=${eventType}`);
        const c = s.body.counts;
        return c?.failed === 2 && c.processing === 0 && c.pending === 0 ? s.body : undefined;
      },
      15_000,
      'the status summary to count 2 failed',
    );
    expect(summary.counts).toMatchObject({ failed: 2, completed: 0, pending: 0, processing: 0, discarded: 0 });

    const dry = await post('/api/events/reprocess', { status: 'failed', event_type: eventType, dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dry_run: true, matched: 2 });
    expect(receiver.deliveredOk(ids[0]!)).toHaveLength(0);

    receiver.setResponder(() => ({ status: 200 }));
    const bulk = await post('/api/events/reprocess', { status: 'failed', event_type: eventType });
    expect(bulk.status).toBe(202);
    expect(bulk.body).toMatchObject({ dry_run: false, matched: 2, signalled: 2 });
    expect(bulk.body.follow.temporal_ui).toContain('/workflows?query=');
    for (const id of ids) {
      await waitForStatus(id, 'completed');
      expect(receiver.deliveredOk(id)).toHaveLength(1);
    }
  });

  it('lists an event stuck in processing', async () => {
    await subscribe();
    // Slower than processing may take inside the workflow task (5 s): it becomes a normal
    // activity, and the event shows as `processing` while it runs.
    receiver.setResponder(() => ({ status: 200, delayMs: 8_000 }));
    const id = await send();
    const stuck = await eventually(
      async () => {
        const res = await get('/api/events/stuck?older_than=1s');
        return res.body.items?.find((i: { event_id: string; status: string }) => i.event_id === id && i.status === 'processing');
      },
      20_000,
      'the event in /api/events/stuck, processing',
    );
    expect(stuck).toMatchObject({ status: 'processing', execution_status: 'RUNNING' });
    await waitForStatus(id, 'completed');
  });

  it('refuses a subscription with a bad subject pattern or URL', async () => {
    expect((await post('/api/subscriptions', { url: receiver.url, subjects: ['other.>'] })).status).toBe(400);
    expect((await post('/api/subscriptions', { url: 'ftp://x', subjects: ['events.>'] })).status).toBe(400);
    expect((await post('/api/subscriptions', { url: receiver.url, subjects: ['events.a.b.c.>.x'] })).status).toBe(400);
  });
});
