import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { ClientInfo } from './client-info.js';
import { correctTimestamp, enrichMetadata } from './enrich.js';
import { type EventEnvelope, jsonObject, mustBeStorable, storableText, storableTime, token } from './envelope.js';
import { FRONTEND_CATEGORIES } from './subject.js';

// What a browser sends to POST /api/frontend/events. Unknown top-level fields are refused
// (strict), per event in a batch, so an SDK's typo shows at once; `metadata` stays open because
// pages attach their own context, but the keys the service sets there always win.

const shortText = storableText.min(1).max(100);
const isoTime = storableTime;

export const frontendMetadata = z
  .looseObject({
    page_url: z.string().max(2048).optional(),
    referrer: z.string().max(2048).optional(),
    language: z.string().max(35).optional(),
    sdk: z.strictObject({ name: z.string().min(1).max(100), version: z.string().min(1).max(50) }).optional(),
  })
  .superRefine(mustBeStorable);

export const frontendEventInput = z.strictObject({
  event_id: z.uuid().optional(),
  event_type: token,
  category: z.enum(FRONTEND_CATEGORIES),
  data: jsonObject.default({}),
  metadata: frontendMetadata.optional(),
  user_id: shortText.optional(),
  session_id: shortText.optional(),
  timestamp: isoTime.optional().describe('when it happened, by the client clock'),
  sent_at: isoTime.optional().describe('when the client sent it, by the same clock: lets the service correct skew'),
  write_key: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('publishable write key, for sendBeacon requests that cannot set X-Write-Key; never stored'),
});

/** Only for the documentation: each item is validated on its own in the handler. */
export const frontendBatchInput = z.strictObject({
  events: z.array(frontendEventInput),
  write_key: z.string().min(1).max(200).optional(),
});

export type FrontendEventInput = z.infer<typeof frontendEventInput>;

export interface FrontendContext {
  receivedAt: Date;
  client: ClientInfo;
  /** The app of the write key the request was authenticated with, if any. */
  app?: string;
  maxFutureSkewMs: number;
}

/** Builds the envelope field by field, so that `write_key` and anything else unlisted is left out. */
export function frontendEnvelope(input: FrontendEventInput, ctx: FrontendContext): EventEnvelope {
  const time = correctTimestamp({
    timestamp: input.timestamp,
    sentAt: input.sent_at,
    receivedAt: ctx.receivedAt,
    maxFutureSkewMs: ctx.maxFutureSkewMs,
  });
  return {
    event_id: input.event_id ?? uuidv7(),
    event_type: input.event_type,
    event_source: 'frontend',
    event_category: input.category,
    ...(input.user_id && { user_id: input.user_id }),
    ...(input.session_id && { session_id: input.session_id }),
    data: input.data,
    metadata: enrichMetadata(input.metadata, ctx.client, { app: ctx.app, time }),
    timestamp: time.timestamp,
    received_at: ctx.receivedAt.toISOString(),
  };
}
