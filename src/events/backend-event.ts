import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { BACKEND_CATEGORY } from './subject.js';
import { type EventEnvelope, jsonObject, storableText, storableTime, token } from './envelope.js';

// What a backend service sends to POST /api/events/create. Unknown fields are refused (strict)
// rather than silently dropped, so a typo in a producer shows up at once.

const shortText = storableText.min(1).max(100);

export const backendEventInput = z.strictObject({
  event_id: z.uuid().optional(),
  event_type: token,
  service: token.optional(),
  data: jsonObject.default({}),
  metadata: jsonObject.optional(),
  user_id: shortText.optional(),
  session_id: shortText.optional(),
  correlation_id: shortText.optional(),
  causation_id: shortText.optional(),
  timestamp: storableTime.optional(),
});

export type BackendEventInput = z.infer<typeof backendEventInput>;

export function backendEnvelope(input: BackendEventInput, receivedAt: Date): EventEnvelope {
  const metadata: Record<string, unknown> = { ...input.metadata };
  if (input.service) metadata.service = input.service;
  if (input.correlation_id) metadata.correlation_id = input.correlation_id;
  if (input.causation_id) metadata.causation_id = input.causation_id;
  return {
    event_id: input.event_id ?? uuidv7(),
    event_type: input.event_type,
    event_source: 'backend',
    event_category: BACKEND_CATEGORY,
    ...(input.user_id && { user_id: input.user_id }),
    ...(input.session_id && { session_id: input.session_id }),
    data: input.data,
    metadata,
    timestamp: input.timestamp ?? receivedAt.toISOString(),
    received_at: receivedAt.toISOString(),
  };
}
