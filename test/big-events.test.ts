import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INLINE_EVENT_MAX_BYTES } from '../src/workflows/definitions.js';
import { eventually, post, stack, testPayloadCodec, testPool, testTemporal, waitForStatus } from './helpers.js';

// An event near the API's 1 MB limit goes into Temporal as a reference (its stream message and
// the fields operators filter on), so that its history stays as small as any event's; the first
// activity reads it from the stream and PostgreSQL holds it from then on.

type History = proto.api.history.v1.IHistory;
const BLOB = 900 * 1024;

/** The history's size as Temporal stores and sends it: the encoded protobuf. */
const encodedBytes = (history: History) => proto.api.history.v1.History.encode(history).finish().length;

/** The workflow's input as the Temporal UI shows it (decrypted with the codec, if any). */
async function startInput(history: History): Promise<{ event: Record<string, unknown> }> {
  const sent = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]! as Payload;
  const codec = testPayloadCodec();
  const payload = codec ? (await codec.decode([sent]))[0]! : sent;
  return JSON.parse(Buffer.from(payload.data!).toString('utf8'));
}

describe('a big event', () => {
  let pool: pg.Pool;
  let temporal: Client;
  beforeAll(async () => {
    pool = testPool();
    temporal = await testTemporal({ readPayloads: true });
    // The stack answers once the API does; the worker may still be bundling its workflows.
    await eventually(
      async () => ((await fetch(`${stack().workerHealthUrl}/health/ready`).catch(() => undefined))?.ok ? true : undefined),
      180_000,
      'the worker to be ready',
    );
  }, 200_000);
  afterAll(async () => {
    await pool.end();
    await temporal.connection.close();
  });

  it('completes with a small history, Temporal holding a reference; reprocessed as a new run, it is read from PostgreSQL', async () => {
    const res = await post('/api/events/create', { event_type: 'big_event', user_id: 'u-big', data: { blob: 'x'.repeat(BLOB) } });
    expect(res.status).toBe(202);
    const id = res.body.event_id as string;
    await waitForStatus(id, 'completed', 60_000);
    const stored = await pool.query("SELECT length(data->>'blob') AS blob FROM events WHERE event_id = $1", [id]);
    expect(stored.rows[0].blob).toBe(BLOB);

    const handle = temporal.workflow.getHandle(id);
    await handle.result();
    const history = await handle.fetchHistory();
    const bytes = encodedBytes(history);
    console.log(`big event (${BLOB} bytes of data): ${history.events!.length} history events, ${bytes} bytes encoded`);
    expect(history.events).toHaveLength(7);
    expect(bytes).toBeLessThan(8 * 1024);
    // What an operator sees of it in the Temporal UI: what it is, and where the rest is.
    const { event } = await startInput(history);
    expect(event).toMatchObject({
      event_id: id,
      event_type: 'big_event',
      event_source: 'backend',
      event_category: 'service',
      user_id: 'u-big',
      reference: { bytes: expect.any(Number), message: { stream: 'EVENTS', seq: expect.any(Number) } },
    });
    expect((event.reference as { bytes: number }).bytes).toBeGreaterThan(INLINE_EVENT_MAX_BYTES);
    expect(event).not.toHaveProperty('data');

    // A closed event's reprocess starts a new run from the stored event: by reference too.
    const again = await post(`/api/events/${id}/reprocess`, {});
    expect(again.body.outcome).toBe('restarted');
    const run = temporal.workflow.getHandle(id, again.body.run_id);
    expect((await run.result()).status).toBe('completed');
    const rerun = await run.fetchHistory();
    expect(encodedBytes(rerun)).toBeLessThan(8 * 1024);
    expect((await startInput(rerun)).event).toMatchObject({ event_id: id, reference: { bytes: expect.any(Number) } });
    expect((await startInput(rerun)).event.reference).not.toHaveProperty('message');
  }, 120_000);

  it('keeps a small event inline, as before', async () => {
    const res = await post('/api/events/create', { event_type: 'small_event', data: { n: 1 } });
    const id = res.body.event_id as string;
    await waitForStatus(id, 'completed');
    const handle = temporal.workflow.getHandle(id);
    await handle.result();
    const { event } = await startInput(await handle.fetchHistory());
    expect(event).toMatchObject({ event_id: id, data: { n: 1 } });
    expect(event).not.toHaveProperty('reference');
  });
});
