import { randomBytes, randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../src/activities/index.js';
import { createProcessorRegistry } from '../src/activities/processors.js';
import type { Processor } from '../src/events/processor.js';
import type { EventEnvelope } from '../src/events/envelope.js';
import { createEventsRepo, type EventsRepo } from '../src/store/events-repo.js';
import { createPool, type Pool } from '../src/store/pool.js';
import { temporal as proto } from '@temporalio/proto';
import { createDataConverter } from '../src/temporal/codec.js';
import { workflowEvent } from '../src/temporal/start-event-workflow.js';
import { WORKFLOWS_PATH } from '../src/worker/workflow-bundle.js';
import {
  discardSignal,
  EventStatusKey,
  type EventWorkflowInput,
  reprocessSignal,
  SEARCH_ATTRIBUTE_KEYS,
  statusQuery,
  initialSearchAttributes,
} from '../src/workflows/definitions.js';
import { eventWorkflow } from '../src/workflows/event-workflow.js';
import { eventually, stack } from './helpers.js';

// The workflow on a local Temporal dev server (the built CLI binary), with the real activities
// writing to the test PostgreSQL, and one processor whose behaviour each test chooses.

const taskQueue = `wf-test-${randomUUID()}`;
// Client and worker encrypt payloads as the service does.
const dataConverter = createDataConverter({
  env: 'test',
  payloadCodec: { keys: [{ id: 'wf-test', key: randomBytes(32).toString('base64') }], currentKeyId: undefined, corsOrigins: [] },
})!;
let failuresLeft = new Map<string, number>();
let calls = new Map<string, number>();
// The size of the data each processing saw: a big event's must be whole.
let seenBytes = new Map<string, number>();
const flaky: Processor = {
  name: 'flaky',
  subjects: ['events.>'],
  async process(event) {
    calls.set(event.event_id, (calls.get(event.event_id) ?? 0) + 1);
    seenBytes.set(event.event_id, JSON.stringify(event.data).length);
    const left = failuresLeft.get(event.event_id) ?? 0;
    if (left > 0) {
      failuresLeft.set(event.event_id, left - 1);
      throw new Error('receiver answered 500');
    }
  },
};

function makeEvent(): EventEnvelope {
  const now = new Date().toISOString();
  return {
    event_id: randomUUID(),
    event_type: 'wf_test',
    event_source: 'backend',
    event_category: 'service',
    data: { n: 1 },
    metadata: {},
    timestamp: now,
    received_at: now,
  };
}

const input = (event: EventEnvelope): EventWorkflowInput => ({
  event,
  retry: { initialIntervalMs: 50, backoffCoefficient: 1, maximumIntervalMs: 50, maximumAttempts: 2 },
  parkTimeoutMs: 3_600_000,
});

// The stream, for events started by reference: what the bridge's message loader would read.
const stream = new Map<number, EventEnvelope>();
let nextSeq = 1;
const publish = (event: EventEnvelope) => {
  const seq = nextSeq++;
  stream.set(seq, event);
  return { stream: 'EVENTS', streamCreated: '2026-01-01T00:00:00Z', seq };
};
const bigEvent = (): EventEnvelope => ({ ...makeEvent(), data: { blob: 'x'.repeat(900 * 1024) } });

// Storing an event fails (as with PostgreSQL unreachable) as often as a test says, then works.
let storeFailuresLeft = new Map<string, number>();
function storeFailingFor(repo: EventsRepo): EventsRepo {
  return {
    ...repo,
    async begin(e, ...rest) {
      const left = storeFailuresLeft.get(e.event_id) ?? 0;
      if (left > 0) {
        storeFailuresLeft.set(e.event_id, left - 1);
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      }
      return repo.begin(e, ...rest);
    },
  };
}

describe('event workflow', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let pool: Pool;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: stack().temporalCliPath }, searchAttributes: SEARCH_ATTRIBUTE_KEYS },
      client: { dataConverter },
    });
    pool = createPool(stack().databaseUrl, 4);
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      dataConverter,
      activities: createActivities({
        repo: storeFailingFor(createEventsRepo(pool)),
        processors: createProcessorRegistry([flaky]),
        loadMessage: async (ref) => {
          const event = ref.reference.message && stream.get(ref.reference.message.seq);
          return event && event.event_id === ref.event_id ? event : undefined;
        },
      }),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    await pool?.end();
  });

  const start = (event: EventEnvelope) =>
    env.client.workflow.start(eventWorkflow, {
      workflowId: event.event_id,
      taskQueue,
      args: [input(event)],
      typedSearchAttributes: initialSearchAttributes(event),
    });

  /** A big event as the bridge starts it: by reference to its stream message. */
  const startByReference = (event: EventEnvelope, message = publish(event)) =>
    env.client.workflow.start(eventWorkflow, {
      workflowId: event.event_id,
      taskQueue,
      typedSearchAttributes: initialSearchAttributes(event),
      args: [{ ...input(event), event: workflowEvent(event, message) }],
    });

  const historyBytes = async (handle: { fetchHistory(): Promise<proto.api.history.v1.IHistory> }) =>
    proto.api.history.v1.History.encode(await handle.fetchHistory()).finish().length;

  const statusInDb = async (id: string) =>
    (await pool.query('SELECT status, attempts, last_error FROM events WHERE event_id = $1', [id])).rows[0];

  it('completes an event whose processor succeeds', async () => {
    const event = makeEvent();
    const handle = await start(event);
    const state = await handle.result();
    expect(state.status).toBe('completed');
    expect(state.transitions.map((t) => t.status)).toEqual(['pending', 'processing', 'completed']);
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('parks a failing event as failed, then completes it on reprocess', async () => {
    const event = makeEvent();
    failuresLeft.set(event.event_id, 2);
    const handle = await start(event);
    const parked = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.status === 'failed' ? s : undefined;
    });
    expect(parked).toMatchObject({ attempts: 2, lastError: expect.stringContaining('receiver answered 500') });
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'failed', attempts: 2, last_error: expect.stringContaining('500') });
    expect((await handle.describe()).typedSearchAttributes.get(EventStatusKey)).toBe('failed');
    expect((await handle.describe()).status.name).toBe('RUNNING');

    await handle.signal(reprocessSignal, {});
    const state = await handle.result();
    expect(state.status).toBe('completed');
    expect(state.transitions.map((t) => t.status)).toEqual(['pending', 'processing', 'failed', 'processing', 'completed']);
    expect(calls.get(event.event_id)).toBe(3);
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'completed', attempts: 3 });
  });

  it('completes in the normal activity when the local attempts fail, with the event stored and each transition written once', async () => {
    const event = makeEvent();
    failuresLeft.set(event.event_id, 2);
    const handle = await env.client.workflow.start(eventWorkflow, {
      workflowId: event.event_id,
      taskQueue,
      typedSearchAttributes: initialSearchAttributes(event),
      args: [{ ...input(event), retry: { ...input(event).retry, maximumAttempts: 3 } }],
    });
    const state = await handle.result();
    expect(state).toMatchObject({ status: 'completed', attempts: 3 });
    expect(state.transitions.map((t) => t.status)).toEqual(['pending', 'processing', 'completed']);
    expect(calls.get(event.event_id)).toBe(3);
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'completed', attempts: 3 });
    const rows = await pool.query('SELECT status FROM event_status_history WHERE event_id = $1 ORDER BY seq', [event.event_id]);
    expect(rows.rows.map((r) => r.status)).toEqual(['pending', 'processing', 'completed']);
    // The third attempt ran as a normal activity: the only one in the history (local ones are markers).
    const scheduled = ((await handle.fetchHistory()).events ?? []).flatMap(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    expect(scheduled).toEqual(['processAndComplete']);
  });

  it("spends none of processing's attempts while the event cannot be stored yet", async () => {
    const event = makeEvent();
    // Both attempts of the first activity, and the first of the store alone after it.
    storeFailuresLeft.set(event.event_id, 3);
    const state = await (await start(event)).result();
    expect(state).toMatchObject({ status: 'completed', attempts: 1 });
    expect(state.transitions.map((t) => t.status)).toEqual(['pending', 'processing', 'completed']);
    expect(calls.get(event.event_id)).toBe(1);
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'completed', attempts: 1 });
  }, 30_000);

  it('discards a parked event on discard', async () => {
    const event = makeEvent();
    failuresLeft.set(event.event_id, 100);
    const handle = await start(event);
    await eventually(async () => ((await handle.query(statusQuery)).status === 'failed' ? true : undefined));
    await handle.signal(discardSignal, { reason: 'bad data' });
    const state = await handle.result();
    expect(state.status).toBe('discarded');
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'discarded' });
    expect((await handle.describe()).typedSearchAttributes.get(EventStatusKey)).toBe('discarded');
  });

  it('ends an event the database refuses as failed, kept without its data, instead of retrying for ever', async () => {
    // Ingestion refuses this; a producer on an older version, or a path not yet guarded, must still end.
    const event = { ...makeEvent(), data: { s: 'a\u0000b' } };
    const handle = await start(event);
    const parked = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.status === 'failed' ? s : undefined;
    }, 15_000);
    expect(parked.lastError).toMatch(/cannot store this event.*SQLSTATE 22/);
    expect(parked.transitions.map((t) => t.status)).toEqual(['pending', 'failed']);
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'failed', last_error: expect.stringContaining('SQLSTATE') });
    expect(calls.get(event.event_id)).toBeUndefined();
    expect((await handle.describe()).typedSearchAttributes.get(EventStatusKey)).toBe('failed');
  });

  it('completes a big event started by reference: read from its message, stored whole, Temporal holding only the reference', async () => {
    const event = bigEvent();
    const handle = await startByReference(event);
    const state = await handle.result();
    expect(state.status).toBe('completed');
    expect(state.transitions.map((t) => t.status)).toEqual(['pending', 'processing', 'completed']);
    expect(seenBytes.get(event.event_id)).toBe(JSON.stringify(event.data).length);
    const stored = await pool.query("SELECT status, length(data->>'blob') AS blob FROM events WHERE event_id = $1", [event.event_id]);
    expect(stored.rows[0]).toMatchObject({ status: 'completed', blob: 900 * 1024 });
    // The same seven events as a small event's, and about as many bytes.
    const history = await handle.fetchHistory();
    expect(history.events).toHaveLength(7);
    expect(await historyBytes(handle)).toBeLessThan(8 * 1024);
  });

  it('retries a big event in the normal activity, then reprocesses it on signal, reading it from PostgreSQL once stored', async () => {
    const event = bigEvent();
    failuresLeft.set(event.event_id, 3);
    const handle = await env.client.workflow.start(eventWorkflow, {
      workflowId: event.event_id,
      taskQueue,
      typedSearchAttributes: initialSearchAttributes(event),
      args: [{ ...input(event), event: workflowEvent(event, publish(event)), retry: { ...input(event).retry, maximumAttempts: 3 } }],
    });
    await eventually(async () => ((await handle.query(statusQuery)).status === 'failed' ? true : undefined));
    // Gone from the stream (limits): once stored, PostgreSQL holds it.
    stream.clear();
    await handle.signal(reprocessSignal, {});
    const state = await handle.result();
    expect(state).toMatchObject({ status: 'completed', attempts: 4 });
    expect(calls.get(event.event_id)).toBe(4);
    expect(seenBytes.get(event.event_id)).toBe(JSON.stringify(event.data).length);
    expect(await historyBytes(handle)).toBeLessThan(16 * 1024);
  });

  it('keeps a big event whose message is gone before it was stored as failed, without its data', async () => {
    const event = bigEvent();
    const handle = await startByReference(event, { stream: 'EVENTS', streamCreated: '2026-01-01T00:00:00Z', seq: 999_999_999 });
    const parked = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.status === 'failed' ? s : undefined;
    }, 15_000);
    expect(parked.lastError).toMatch(/never stored and message 999999999 of stream EVENTS is gone/);
    expect(parked.transitions.map((t) => t.status)).toEqual(['pending', 'failed']);
    expect(await statusInDb(event.event_id)).toMatchObject({ status: 'failed' });
    expect(calls.get(event.event_id)).toBeUndefined();
  });

  afterAll(() => {
    seenBytes = new Map();
    failuresLeft = new Map();
    storeFailuresLeft = new Map();
    calls = new Map();
  });
});
