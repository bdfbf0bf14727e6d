import type { JsMsg } from '@nats-io/jetstream';
import { type EventEnvelope, envelopeSchema } from '../events/envelope.js';
import { deriveEventId, producerEnvelope, type StreamMessage } from '../events/nats-event.js';
import { createRedactor } from '../events/redact.js';
import { BACKEND_CATEGORY, FRONTEND_CATEGORIES, parseSubject, SUBJECT_ROOT } from '../events/subject.js';

export type Decoded = { ok: true; event: EventEnvelope } | { ok: false; reason: string };

const CATEGORIES: Record<string, readonly string[]> = { frontend: FRONTEND_CATEGORIES, backend: [BACKEND_CATEGORY] };

const describeIssues = (issues: { path: PropertyKey[]; message: string }[]) =>
  issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');

/**
 * Turns a stream message — the API's full envelope or a direct producer's partial one — into a
 * full envelope, or says why it can never become one. Everything it returns is redacted: for a
 * direct producer the stream holds the clear value, but Temporal and the database never see it.
 */
export function createDecoder(sensitiveFields: readonly string[]) {
  const redact = createRedactor(sensitiveFields);

  return function decode(msg: StreamMessage): Decoded {
    const parts = parseSubject(msg.subject);
    if (!parts)
      return {
        ok: false,
        reason: `subject ${msg.subject} is not ${SUBJECT_ROOT}.<source>.<category>.<event_type> with tokens of [a-z0-9_]`,
      };
    const allowed = CATEGORIES[parts.source];
    if (!allowed) return { ok: false, reason: `subject source "${parts.source}" is not one of ${Object.keys(CATEGORIES).join(', ')}` };
    if (!allowed.includes(parts.category)) {
      return { ok: false, reason: `subject category "${parts.category}" is not one of ${allowed.join(', ')} for source ${parts.source}` };
    }

    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(msg.body));
    } catch {
      return { ok: false, reason: 'body is not valid UTF-8 JSON' };
    }
    const parsed = producerEnvelope.safeParse(json);
    if (!parsed.success) return { ok: false, reason: `not an event envelope: ${describeIssues(parsed.error.issues)}` };
    const body = parsed.data;

    const mismatches = [
      ['event_source', body.event_source, parts.source],
      ['event_category', body.event_category, parts.category],
      ['event_type', body.event_type, parts.eventType],
    ].filter(([, inBody, inSubject]) => inBody !== undefined && inBody !== inSubject);
    if (mismatches.length > 0) {
      const list = mismatches.map(([field, inBody, inSubject]) => `${field} "${inBody}" ≠ "${inSubject}"`).join(', ');
      return { ok: false, reason: `body does not match subject ${msg.subject}: ${list}` };
    }

    const receivedAt = body.received_at ?? msg.storedAt.toISOString();
    const event = envelopeSchema.safeParse({
      ...body,
      event_id: body.event_id ?? deriveEventId(msg.msgId, msg),
      event_source: parts.source,
      event_category: parts.category,
      event_type: parts.eventType,
      data: redact(body.data),
      metadata: redact(body.metadata),
      timestamp: body.timestamp ?? receivedAt,
      received_at: receivedAt,
    });
    if (!event.success) return { ok: false, reason: `not an event envelope: ${describeIssues(event.error.issues)}` };
    return { ok: true, event: event.data };
  };
}

export type Decoder = ReturnType<typeof createDecoder>;

/** The stream's view of a delivered message: what decoding and dead-lettering need. */
export function toStreamMessage(msg: JsMsg, streamCreated: string): StreamMessage {
  const msgId = msg.headers?.get('Nats-Msg-Id');
  return {
    subject: msg.subject,
    body: msg.data,
    ...(msgId && { msgId }),
    stream: msg.info.stream,
    streamCreated,
    seq: msg.seq,
    storedAt: msg.time,
  };
}
