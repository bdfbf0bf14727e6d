import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config.js';
import { findFreePort } from '../src/dev/ports.js';
import { type RunningStack, startStack } from '../src/dev/stack.js';
import { EventStatusKey, type EventWorkflowState } from '../src/workflows/definitions.js';
import { eventually, testTemporal } from './helpers.js';
import { type ExtraServices, startExtraServices } from './extra-services.js';
import { TEST_LIFECYCLE_ENV } from './stack-settings.js';
import { startReceiver } from './webhook-receiver.js';

// A parked event waits for an operator up to PARK_TIMEOUT (30 days by default; the suite's own
// deployment uses an hour), then its workflow closes on its own. Temporal's time-skipping test
// server cannot be had here, so the real thing runs with a short PARK_TIMEOUT: an API and a
// worker process of their own, configured as an operator would, on a NATS server of their own
// (the shared stream's bridge must not start these events with its hour) and a task queue of
// their own in the shared Temporal dev server, with the shared PostgreSQL.

const PARK_TIMEOUT_MS = 4_000;
let services: ExtraServices;
let nats: RunningStack;
let apiUrl: string;
let temporal: Client;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  const { dev } = loadConfig();
  const dataDir = resolve(dev.testDataDir, '..', `${dev.testDataDir.split('/').at(-1)}-park`);
  await rm(dataDir, { recursive: true, force: true });
  nats = await startStack({ dataDir, cacheDir: dev.cacheDir, nats: { port: await findFreePort() }, log: pino({ level: 'silent' }) });
  services = await startExtraServices(
    {
      PARK_TIMEOUT: `${PARK_TIMEOUT_MS}ms`,
      NATS_URL: nats.natsUrl!,
      TEMPORAL_TASK_QUEUE: `park-${randomUUID()}`,
    },
    'the API and worker with a short PARK_TIMEOUT',
  );
  apiUrl = services.apiUrl;
  temporal = await testTemporal({ readPayloads: true });
  receiver = await startReceiver(() => ({ status: 500 }));
}, 180_000);

afterAll(async () => {
  await services?.stop();
  await temporal?.connection.close();
  await receiver?.close();
  await nats?.stop();
}, 60_000);

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const storedAs = (id: string, status: string) =>
  eventually(
    async () => {
      const res = await call('GET', `/api/events/${id}`);
      return res.status === 200 && res.body.status === status ? res.body : undefined;
    },
    60_000,
    `event ${id} to be ${status}`,
  );

const ms = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(d?.seconds ?? 0) * 1000 + (d?.nanos ?? 0) / 1e6;

describe('a parked event', () => {
  it('closes after PARK_TIMEOUT without an operator, still failed where operators look, and can be reprocessed after', async () => {
    const eventType = `park_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const subscription = await call('POST', '/api/subscriptions', { url: receiver.url, subjects: [`events.backend.service.${eventType}`] });
    expect(subscription.status).toBe(201);
    onTestFinished(async () => void (await fetch(`${apiUrl}/api/subscriptions/${subscription.body.id}`, { method: 'DELETE' })));
    const sent = await call('POST', '/api/events/create', { event_type: eventType, data: { n: 1 } });
    expect(sent.status).toBe(202);
    const id = sent.body.event_id as string;
    await storedAs(id, 'failed');

    // No signal: the workflow ends by itself, as parked (failed), with nothing after `failed`.
    const handle = temporal.workflow.getHandle(id);
    const state = (await handle.result()) as EventWorkflowState;
    expect(state.status).toBe('failed');
    expect(state.transitions.map((t) => t.status)).toEqual(['pending', 'processing', 'failed']);
    const described = await handle.describe();
    expect(described.status.name).toBe('COMPLETED');

    // Closed by the park timer, of PARK_TIMEOUT as configured, and no earlier than that after parking.
    const history = (await handle.fetchHistory()).events ?? [];
    const timers = history.flatMap((e) => (e.timerStartedEventAttributes ? [e.timerStartedEventAttributes] : []));
    expect(timers.map((t) => ms(t.startToFireTimeout))).toEqual([PARK_TIMEOUT_MS]);
    expect(history.some((e) => e.timerFiredEventAttributes?.timerId === timers[0]!.timerId)).toBe(true);
    expect(history.some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(false);
    expect(history.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    const parkedAt = Date.parse(state.transitions.at(-1)!.at);
    expect(described.closeTime!.getTime() - parkedAt).toBeGreaterThanOrEqual(PARK_TIMEOUT_MS);

    // Still failed in PostgreSQL, in the EventStatus search attribute and the status endpoint.
    expect(await storedAs(id, 'failed')).toMatchObject({ status: 'failed', attempts: Number(TEST_LIFECYCLE_ENV.RETRY_MAX_ATTEMPTS) });
    expect(described.typedSearchAttributes.get(EventStatusKey)).toBe('failed');
    expect((await call('GET', `/api/events/${id}/status`)).body).toMatchObject({
      status: 'failed',
      workflow: { execution_status: 'COMPLETED' },
    });

    // An operator can still act on it: reprocess starts a new run from the stored event.
    receiver.setResponder(() => ({ status: 204 }));
    const reprocess = await call('POST', `/api/events/${id}/reprocess`, {});
    expect(reprocess).toMatchObject({ status: 202, body: { outcome: 'restarted' } });
    await storedAs(id, 'completed');
    expect(receiver.deliveredOk(id)).toHaveLength(1);
  }, 120_000);
});
