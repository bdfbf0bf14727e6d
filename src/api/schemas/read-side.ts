import { z } from 'zod';
import { EVENT_STATUSES, storableText, token } from '../../events/envelope.js';

// Schemas shared by the read-side routes (queries and stats): validated on the way in,
// serialized on the way out, and shown in the OpenAPI document.

export const MAX_PAGE_SIZE = 1000;

export const isoTime = z.iso.datetime({ offset: true });
export const idText = storableText.min(1).max(100);

/** A JSON object given as query text, e.g. data={"plan":"pro"}: matched by containment. */
export const jsonQueryObject = z
  .string()
  .max(4096)
  .superRefine((text, ctx) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'a JSON object, such as {"plan":"pro"}' });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      ctx.addIssue({ code: 'custom', message: 'a JSON object, such as {"plan":"pro"}' });
    else if (text.includes('\\u0000')) ctx.addIssue({ code: 'custom', message: 'no NUL characters' });
  });

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50).describe(`page size, at most ${MAX_PAGE_SIZE}`),
  order: z.enum(['asc', 'desc']).default('desc').describe('by received_at, then event_id'),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .describe('next_cursor of the previous page'),
});

export const eventFilterQuery = z.object({
  user_id: idText.optional(),
  session_id: idText.optional(),
  event_type: token.optional(),
  source: z.enum(['frontend', 'backend']).optional(),
  category: token.optional(),
  status: z.enum(EVENT_STATUSES).optional(),
  from: isoTime.optional().describe('received_at at or after'),
  to: isoTime.optional().describe('received_at before'),
  data: jsonQueryObject.optional().describe('JSON object the event data must contain'),
  field: z
    .string()
    .max(100)
    .optional()
    .describe('an encrypted field (ENCRYPTED_FIELDS), with `value`: events holding it, found by keyed hash; needs `events:decrypt`'),
  value: storableText.max(1000).optional().describe("the `field`'s value, matched trimmed and case-insensitively"),
});

export const storedEventSchema = z.object({
  event_id: z.uuid(),
  event_type: z.string(),
  event_source: z.string(),
  event_category: z.string(),
  user_id: z.string().optional(),
  session_id: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
  status: z.enum(EVENT_STATUSES),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  timestamp: z.string(),
  received_at: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const eventPageSchema = z.object({
  items: z.array(storedEventSchema),
  next_cursor: z.string().nullable().describe('pass as cursor for the next page; null on the last'),
});

export const sessionSchema = z.object({
  session_id: z.string(),
  user_ids: z.array(z.string()),
  started_at: z.string(),
  ended_at: z.string(),
  duration_ms: z.number(),
  event_count: z.number().int(),
  events: z.array(storedEventSchema),
  next_cursor: z.string().nullable(),
});
