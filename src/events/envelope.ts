import { z } from 'zod';
import { findUnstorable, isStorableTime, unstorableText } from './storable.js';
import { TOKEN_PATTERN, TOKEN_RULE } from './subject.js';

// The event envelope: what is published to the stream, carried by the workflow and stored.
// It is pure data (no classes, no Dates) so that it crosses NATS, Temporal and pg unchanged.

export const token = z.string().regex(TOKEN_PATTERN, TOKEN_RULE);
/** Refinement for JSON PostgreSQL must store: names the first value it could not. */
export function mustBeStorable(value: unknown, ctx: z.RefinementCtx): void {
  const found = findUnstorable(value);
  if (found) ctx.addIssue({ code: 'custom', path: found.path, message: found.message });
}
export const jsonObject = z.record(z.string(), z.unknown()).superRefine(mustBeStorable);
/** An ISO 8601 time with its offset, in the range PostgreSQL stores. */
export const storableTime = z.iso
  .datetime({ offset: true })
  .refine(isStorableTime, 'a time from year 1 to 9999, with an offset within ±15:59');
/** Free text that PostgreSQL can store (no NUL, no lone surrogate). */
export const storableText = z.string().superRefine((s, ctx) => {
  const why = unstorableText(s);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});
export const EVENT_STATUSES = ['pending', 'processing', 'completed', 'failed', 'discarded'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];
/** An event's status is final for now: the workflow ends or parks waiting for an operator. */
export const SETTLED_STATUSES: readonly EventStatus[] = ['completed', 'failed', 'discarded'];

export const envelopeSchema = z.strictObject({
  event_id: z.uuid(),
  event_type: token,
  event_source: z.enum(['frontend', 'backend']),
  event_category: token,
  user_id: storableText.max(100).optional(),
  session_id: storableText.max(100).optional(),
  data: jsonObject,
  metadata: jsonObject,
  timestamp: storableTime,
  received_at: storableTime,
});

export type EventEnvelope = z.infer<typeof envelopeSchema>;
