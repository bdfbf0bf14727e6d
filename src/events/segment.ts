import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { type ItemError, toItemErrors } from './batch-plan.js';
import { correctTimestamp, enrichMetadata } from './enrich.js';
import { type EventEnvelope, storableTime } from './envelope.js';
import { toEventType } from './event-type-name.js';
import type { FrontendContext } from './frontend-event.js';
import { EVENT_ID_NAMESPACE } from './nats-event.js';
import { findUnstorable } from './storable.js';

// The Segment tracking API's messages (https://segment.com/docs/connections/spec/), as Segment's
// and RudderStack's libraries send them, turned into our envelope. The mapping is the table in
// docs/segment.md; every field a client sent is kept, in `data` or in `metadata.segment`.
// Segment's messages are open (libraries add fields of their own, such as `_metadata` or
// `channel`), so unknown fields are kept, not refused.

export const SEGMENT_CALL_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentCallType = (typeof SEGMENT_CALL_TYPES)[number];

/** Segment's own limits (its HTTP API's docs); its libraries split their batches to fit them. */
export const SEGMENT_MAX_EVENT_BYTES = 32 * 1024;
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;

/** Each call's event type and category. A track's event type comes from its `event` name. */
const CALLS: Record<SegmentCallType, { eventType?: string; category: EventEnvelope['event_category'] }> = {
  track: { category: 'business_action' },
  page: { eventType: 'page_view', category: 'user_interaction' },
  screen: { eventType: 'screen_view', category: 'user_interaction' },
  identify: { eventType: 'identify', category: 'system_event' },
  group: { eventType: 'group', category: 'system_event' },
  alias: { eventType: 'alias', category: 'system_event' },
};

/** Libraries send ids as strings or numbers, and `null` or '' for "none" (analytics.js does). */
const optionalId = z.preprocess(
  (v) => (v === null || v === '' ? undefined : typeof v === 'number' ? String(v) : v),
  z.string().max(100, 'at most 100 characters').optional(),
);
const object = z.record(z.string(), z.unknown());

const segmentMessage = z.looseObject({
  type: z.enum(SEGMENT_CALL_TYPES).optional(),
  messageId: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().min(1).max(200).optional()),
  userId: optionalId,
  anonymousId: optionalId,
  groupId: optionalId,
  previousId: optionalId,
  event: z.string().min(1).max(200).optional(),
  name: z.string().max(200).nullish(),
  properties: object.nullish(),
  traits: object.nullish(),
  context: object.nullish(),
  integrations: object.nullish(),
  timestamp: storableTime.nullish(),
  originalTimestamp: storableTime.nullish(),
  sentAt: storableTime.nullish(),
});

/** What a batch says for all of its messages; a message's own values win. */
export interface SegmentBatchDefaults {
  context?: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  sentAt?: string;
}

export const segmentBatchDefaults = z.looseObject({
  batch: z.array(z.unknown()),
  context: object.optional(),
  integrations: object.optional(),
  sentAt: storableTime.optional(),
});

/**
 * The event id of a message: a v5 UUID of the write key's app and the `messageId`, so the same
 * message sent again (a retry, a second flush) is the same event and is stored once. The app,
 * not the key, so that a retry under a rotated key of the same app is still the same event.
 */
export function segmentEventId(app: string | undefined, messageId: string): string {
  return uuidv5(JSON.stringify(['segment', app ?? '', messageId]), EVENT_ID_NAMESPACE);
}

const errors = (path: string, message: string): ItemError[] => [{ path, message }];

/**
 * One Segment call as our envelope, or why it cannot be one. `pathType` is the call type a
 * single call's path names (`/v1/track`); a batch's messages say theirs in `type`.
 */
export function segmentEnvelope(
  raw: unknown,
  pathType: SegmentCallType | undefined,
  defaults: SegmentBatchDefaults,
  ctx: FrontendContext,
): EventEnvelope | ItemError[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return errors('(root)', 'expected a message object');
  const unstorable = findUnstorable(raw);
  if (unstorable) return errors(unstorable.path.join('.') || '(root)', unstorable.message);
  const parsed = segmentMessage.safeParse(raw);
  if (!parsed.success) return toItemErrors(parsed.error);
  const msg = parsed.data;
  const type = pathType ?? msg.type;
  if (!type) return errors('type', `a message in a batch names its call: one of ${SEGMENT_CALL_TYPES.join(', ')}`);
  const userKey = msg.userId ?? msg.anonymousId;
  if (userKey === undefined) return errors('userId', 'userId or anonymousId is required');
  if (type === 'track' && msg.event === undefined) return errors('event', 'a track call names its event');
  if (type === 'group' && msg.groupId === undefined) return errors('groupId', 'a group call names its groupId');
  if (type === 'alias' && (msg.userId === undefined || msg.previousId === undefined)) {
    return errors(msg.userId === undefined ? 'userId' : 'previousId', 'an alias call names userId and previousId');
  }

  const { properties, traits, ...rest } = msg;
  delete rest.writeKey; // a key in a batch's message; the request's own was taken by authentication
  const byTraits = type === 'identify' || type === 'group';
  const context = merge(defaults.context, msg.context);
  const integrations = merge(defaults.integrations, msg.integrations);
  const sentAt = msg.sentAt ?? defaults.sentAt;
  const segment: Record<string, unknown> = {
    ...rest,
    type,
    ...(byTraits ? properties && { properties } : traits && { traits }),
    ...(context && { context }),
    ...(integrations && { integrations }),
    ...(sentAt && { sentAt }),
  };
  for (const key of Object.keys(segment)) if (segment[key] === undefined || segment[key] === null) delete segment[key];

  const time = correctTimestamp({
    // analytics.js sends originalTimestamp; the server libraries set `timestamp` to the time of the call.
    timestamp: msg.originalTimestamp ?? msg.timestamp ?? undefined,
    sentAt: sentAt ?? undefined,
    receivedAt: ctx.receivedAt,
    maxFutureSkewMs: ctx.maxFutureSkewMs,
  });
  const page = context?.page as { url?: unknown } | undefined;
  const sessionId = context?.sessionId;
  const session = typeof sessionId === 'string' || typeof sessionId === 'number' ? String(sessionId).slice(0, 100) : undefined;
  const call = CALLS[type];
  return {
    event_id: msg.messageId === undefined ? uuidv7() : segmentEventId(ctx.app, msg.messageId),
    event_type: call.eventType ?? toEventType(msg.event!) ?? 'track',
    event_source: 'frontend',
    event_category: call.category,
    user_id: userKey,
    ...(session && { session_id: session }),
    data: (byTraits ? traits : properties) ?? {},
    metadata: enrichMetadata(
      {
        ...(typeof page?.url === 'string' && { page_url: page.url.slice(0, 2048) }),
        ...(typeof context?.locale === 'string' && { language: context.locale.slice(0, 35) }),
        segment,
      },
      ctx.client,
      { ...(ctx.app && { app: ctx.app }), time },
    ),
    timestamp: time.timestamp,
    received_at: ctx.receivedAt.toISOString(),
  };
}

function merge(batch: Record<string, unknown> | undefined, own: Record<string, unknown> | null | undefined) {
  if (!batch) return own ?? undefined;
  return { ...batch, ...own };
}
