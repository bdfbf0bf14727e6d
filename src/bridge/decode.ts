import { type EventEnvelope, envelopeSchema } from '../events/envelope.js';
import { subjectFor } from '../events/subject.js';

export type Decoded = { ok: true; event: EventEnvelope } | { ok: false; reason: string };

/** Turns a stream message into an event, or says why it can never become one. */
export function decodeMessage(subject: string, body: Uint8Array): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: `not an event envelope: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  }
  const event = parsed.data;
  const expected = subjectFor({ source: event.event_source, category: event.event_category, eventType: event.event_type });
  if (expected !== subject) return { ok: false, reason: `subject ${subject} does not match the event's ${expected}` };
  return { ok: true, event };
}
