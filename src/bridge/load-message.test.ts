import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../events/envelope.js';
import { REDACTED } from '../events/redact.js';
import { workflowEvent } from '../temporal/start-event-workflow.js';
import { type EventReference, INLINE_EVENT_MAX_BYTES, isEventReference } from '../workflows/definitions.js';
import { createDecoder } from '../nats/decode-message.js';
import { createMessageLoader } from './load-message.js';

const decode = createDecoder(['password']);
const at = { stream: 'EVENTS', streamCreated: '2030-01-01T00:00:00.123456789Z', seq: 42 };
const subject = 'events.backend.service.big_thing';
const storedAt = new Date('2030-01-02T03:04:05.678Z');

/** A direct producer's message: no id, no times, a sensitive field in the clear. */
const body = { data: { password: 'hunter2', blob: 'x'.repeat(INLINE_EVENT_MAX_BYTES) } };

function streamHolding(messages: Map<number, StoredMsg>): Pick<JetStreamManager, 'streams'> {
  return { streams: { getMessage: async (_stream: string, q: { seq?: number }) => messages.get(q.seq!) ?? null } } as never;
}

function stored(seq: number, content: unknown, msgId?: string): StoredMsg {
  const h = headers();
  if (msgId) h.set('Nats-Msg-Id', msgId);
  return { subject, seq, header: h, data: new TextEncoder().encode(JSON.stringify(content)), time: storedAt } as StoredMsg;
}

/** The event as the bridge decoded it when it started the workflow, and the reference it started it with. */
function asBridged(seq = at.seq): { event: EventEnvelope; ref: EventReference } {
  const decoded = decode({ subject, body: new TextEncoder().encode(JSON.stringify(body)), ...at, seq, storedAt });
  if (!decoded.ok) throw new Error(decoded.reason);
  const ref = workflowEvent(decoded.event, { ...at, seq });
  if (!isEventReference(ref)) throw new Error('expected a reference');
  return { event: decoded.event, ref };
}

describe('a big event by reference', () => {
  it('keeps the fields operators filter on and where the message is, not the data', () => {
    const { ref } = asBridged();
    expect(ref).not.toHaveProperty('data');
    expect(ref.reference).toEqual({ bytes: expect.any(Number), message: at });
    expect(ref.reference.bytes).toBeGreaterThan(INLINE_EVENT_MAX_BYTES);
    expect(ref).toMatchObject({ event_type: 'big_thing', event_source: 'backend', event_category: 'service' });
  });

  it('keeps an event up to the limit inline', () => {
    const small = { ...asBridged().event, data: { n: 1 } };
    expect(workflowEvent(small, at)).toBe(small);
  });

  it('reads back from its message exactly the event the bridge decoded, redacted', async () => {
    const { event, ref } = asBridged();
    const load = createMessageLoader(streamHolding(new Map([[at.seq, stored(at.seq, body)]])), decode);
    const loaded = await load(ref);
    expect(loaded).toEqual(event);
    expect((loaded!.data as { password: string }).password).toBe(REDACTED);
  });

  it('finds nothing when the stream no longer holds the message, or holds another event there', async () => {
    const { ref } = asBridged();
    expect(await createMessageLoader(streamHolding(new Map()), decode)(ref)).toBeUndefined();
    // A recreated stream: seq 42 is someone else's message now.
    const other = stored(at.seq, body, '0190a5b4-7c1e-7a3b-9d2e-123456789abc');
    expect(await createMessageLoader(streamHolding(new Map([[at.seq, other]])), decode)(ref)).toBeUndefined();
  });
});
