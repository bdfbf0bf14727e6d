import { z } from 'zod';
import { TOKEN_PATTERN, TOKEN_RULE } from './subject.js';

// The event envelope: what is published to the stream, carried by the workflow and stored.
// It is pure data (no classes, no Dates) so that it crosses NATS, Temporal and pg unchanged.

export const token = z.string().regex(TOKEN_PATTERN, TOKEN_RULE);
export const jsonObject = z.record(z.string(), z.unknown());
export const EVENT_STATUSES = ['pending', 'processing', 'completed', 'failed', 'discarded'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

export const envelopeSchema = z.strictObject({
  event_id: z.uuid(),
  event_type: token,
  event_source: z.enum(['frontend', 'backend']),
  event_category: token,
  user_id: z.string().max(100).optional(),
  session_id: z.string().max(100).optional(),
  data: jsonObject,
  metadata: jsonObject,
  timestamp: z.iso.datetime({ offset: true }),
  received_at: z.iso.datetime({ offset: true }),
});

export type EventEnvelope = z.infer<typeof envelopeSchema>;
