import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { EventEnvelope } from '../events/envelope.js';
import type { EventReference } from '../workflows/definitions.js';
import type { Decoder } from '../nats/decode-message.js';

/**
 * Reads a big event the bridge started by reference: its stream message, by sequence, decoded
 * as the bridge decoded it (the same decoder: redacted, ids and times filled in the same way).
 * Undefined when the stream no longer holds the message, or holds another there (a recreated
 * stream, whose sequence restarts at 1). NATS unreachable: the error, for the activity to retry.
 */
export function createMessageLoader(jsm: Pick<JetStreamManager, 'streams'>, decode: Decoder) {
  return async function loadMessage(ref: EventReference): Promise<EventEnvelope | undefined> {
    const at = ref.reference.message;
    if (!at) return undefined;
    const stored = await jsm.streams.getMessage(at.stream, { seq: at.seq }).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return null;
      throw err;
    });
    if (!stored) return undefined;
    const msgId = stored.header?.get('Nats-Msg-Id');
    const decoded = decode({
      subject: stored.subject,
      body: stored.data,
      ...(msgId && { msgId }),
      stream: at.stream,
      streamCreated: at.streamCreated,
      seq: stored.seq,
      storedAt: stored.time,
    });
    if (!decoded.ok || decoded.event.event_id !== ref.event_id) return undefined;
    // The times the workflow started with win (storedAt is read back to the millisecond only).
    return { ...decoded.event, timestamp: ref.timestamp, received_at: ref.received_at };
  };
}

export type MessageLoader = ReturnType<typeof createMessageLoader>;
