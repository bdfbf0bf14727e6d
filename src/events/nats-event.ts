import { v5 as uuidv5 } from 'uuid';
import { z } from 'zod';
import { jsonObject, storableText, storableTime, token } from './envelope.js';
import { SOURCES } from './subject.js';

// What a service may publish straight to `events.<source>.<category>.<type>`. The names may be
// left out (the subject says them); when present they must agree with the subject. The full
// envelope the API publishes is a valid producer envelope too, so the bridge reads both alike.
// Unknown fields are refused, as on the HTTP API: a producer's typo shows in the dead letters.

export const producerEnvelope = z.strictObject({
  event_id: z.uuid().optional(),
  event_type: token.optional(),
  event_source: z.enum(SOURCES).optional(),
  event_category: token.optional(),
  user_id: storableText.max(100).optional(),
  session_id: storableText.max(100).optional(),
  data: jsonObject.default({}),
  metadata: jsonObject.default({}),
  timestamp: storableTime.optional(),
  received_at: storableTime.optional(),
});

export type ProducerEnvelope = z.infer<typeof producerEnvelope>;

/** Namespace of the v5 ids made for messages that carry no event id. Never change it: ids would. */
export const EVENT_ID_NAMESPACE = 'fb0d275a-15ee-494e-976e-259420b927d8';

const isUuid = (s: string) => z.uuid().safeParse(s).success;

/** Where a message sits in the stream; `streamCreated` tells a recreated stream's seq 1 from the old one's. */
export interface StreamPosition {
  stream: string;
  streamCreated: string;
  seq: number;
}

/** A stream message as the bridge reads it. */
export interface StreamMessage extends StreamPosition {
  subject: string;
  body: Uint8Array;
  /** The `Nats-Msg-Id` header, if any. */
  msgId?: string;
  /** When JetStream stored it: the event's `received_at` when the body has none. */
  storedAt: Date;
}

/**
 * The id of an event whose body has none: the `Nats-Msg-Id` when it is a UUID, else a v5 UUID of
 * that header, else a v5 UUID of the message's place in the stream. Each is the same on every
 * redelivery, so a redelivered message starts no second workflow.
 */
export function deriveEventId(msgId: string | undefined, at: StreamPosition): string {
  if (msgId && isUuid(msgId)) return msgId.toLowerCase();
  if (msgId) return uuidv5(`msg-id:${msgId}`, EVENT_ID_NAMESPACE);
  return uuidv5(`stream:${at.stream}:${at.streamCreated}:${at.seq}`, EVENT_ID_NAMESPACE);
}
