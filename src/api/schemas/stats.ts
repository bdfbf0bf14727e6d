import { z } from 'zod';
import { token } from '../../events/envelope.js';
import { isoTime } from './read-side.js';

const period = { from: z.string(), to: z.string(), as_of: z.string().nullable() };

export const eventTypesSchema = z.object({
  ...period,
  granularity: z.enum(['hour', 'day']),
  buckets: z.array(
    z.object({ bucket: z.string(), event_type: z.string(), event_source: z.string(), event_category: z.string(), count: z.number().int() }),
  ),
  totals: z.array(z.object({ event_type: z.string(), count: z.number().int() })),
  total: z.number().int(),
});

export const activeUsersSchema = z.object({
  ...period,
  days: z.array(z.object({ day: z.string(), active_users: z.number().int() })),
  distinct_users: z.number().int(),
});

export const sessionsStatsSchema = z.object({
  ...period,
  sessions: z.number().int(),
  events: z.number().int(),
  avg_duration_ms: z.number().nullable(),
  p50_duration_ms: z.number().nullable(),
  p95_duration_ms: z.number().nullable(),
  avg_events: z.number().nullable(),
});

export const funnelBody = z.strictObject({
  steps: z.array(token).min(2).max(10).describe('event types, in the order users must do them'),
  window: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30m, 1h, 7d')
    .default('1d')
    .describe('time allowed from the first step to the last'),
  from: isoTime.optional(),
  to: isoTime.optional(),
  as_of: isoTime.optional(),
});

export const funnelSchema = z.object({
  ...period,
  window_ms: z.number(),
  steps: z.array(
    z.object({ step: z.string(), users: z.number().int(), conversion_from_previous: z.number(), conversion_from_first: z.number() }),
  ),
});
