import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseDuration } from '../../config.js';
import { token } from '../../events/envelope.js';
import { cacheNamespace, createStatsCache, listenForInvalidations, type StatsCache, ttlFor } from '../../read-side/stats-cache.js';
import { createStats, type Period, periodEnd } from '../../read-side/stats.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError } from '../errors.js';
import { isoTime } from '../schemas/read-side.js';
import { userRoutes } from './users.js';
import { activeUsersSchema, eventTypesSchema, funnelBody, funnelSchema, sessionsStatsSchema } from '../schemas/stats.js';

const read = { scope: 'events:read' } as const;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A period from the query: by default the last `span` up to the end of the current bucket, so that its cache key holds for a while. */
function periodOf(
  q: { from?: string | undefined; to?: string | undefined; as_of?: string | undefined },
  bucketMs: number,
  span: number,
  maxSpan: number,
): Period {
  const to = q.to ?? new Date(Math.ceil((Date.now() + 1) / bucketMs) * bucketMs).toISOString();
  const from = q.from ?? new Date(Date.parse(to) - span).toISOString();
  if (Date.parse(from) >= Date.parse(to)) throw new HttpError(400, 'validation_error', 'from must be before to');
  if (Date.parse(to) - Date.parse(from) > maxSpan)
    throw new HttpError(400, 'validation_error', `the period may span at most ${maxSpan / DAY} days`);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...(q.as_of && { as_of: new Date(q.as_of).toISOString() }) };
}

const periodQuery = {
  from: isoTime.optional(),
  to: isoTime.optional(),
  as_of: isoTime.optional().describe('answer as the service knew it at that time'),
};

// Statistics from the read models, cached (Redis with REDIS_URL, else in memory).
// The statistics read the replica when there is one; LISTEN and the user deletion need the primary.
export const statsRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'pool' | 'readPool' | 'config' | 'log'>> = async (
  app,
  { pool, readPool, config, log },
) => {
  const stats = createStats(readPool);
  const settings = config.readSide.statsCache;
  const cache: StatsCache = createStatsCache({ ...settings, namespace: cacheNamespace(config.databaseUrl) }, log);
  const listener = listenForInvalidations(pool, cache, log);
  app.addHook('onClose', async () => {
    await listener.close();
    await cache.close();
  });
  await app.register(userRoutes, { pool, cache });

  async function cached<T>(
    reply: { header(k: string, v: string): unknown },
    name: string,
    period: Period,
    params: unknown,
    compute: () => Promise<T>,
  ) {
    const { value, hit } = await cache.get(`${name}:${JSON.stringify([period, params])}`, ttlFor(periodEnd(period), settings), compute);
    reply.header('x-cache', hit ? 'hit' : 'miss');
    return { ...period, as_of: period.as_of ?? null, ...value };
  }

  app.get(
    '/stats/event-types',
    {
      config: read,
      schema: {
        querystring: z.strictObject({
          ...periodQuery,
          granularity: z.enum(['hour', 'day']).default('hour'),
          event_type: token.optional(),
          source: z.enum(['frontend', 'backend']).optional(),
          category: token.optional(),
        }),
        response: { 200: eventTypesSchema },
      },
    },
    async (req, reply) => {
      const { granularity, event_type, source, category, ...q } = req.query;
      const hourly = granularity === 'hour';
      const period = periodOf(q, hourly ? HOUR : DAY, hourly ? DAY : 30 * DAY, hourly ? 31 * DAY : 3660 * DAY);
      const filter = { ...(event_type && { event_type }), ...(source && { source }), ...(category && { category }) };
      return cached(reply, 'event-types', period, [granularity, filter], async () => {
        const buckets = await stats.eventCounts(period, granularity, filter);
        const byType = new Map<string, number>();
        for (const b of buckets) byType.set(b.event_type, (byType.get(b.event_type) ?? 0) + b.count);
        const totals = [...byType]
          .map(([t, count]) => ({ event_type: t, count }))
          .sort((a, b) => b.count - a.count || a.event_type.localeCompare(b.event_type));
        return { granularity, buckets, totals, total: totals.reduce((n, t) => n + t.count, 0) };
      });
    },
  );

  app.get(
    '/stats/active-users',
    {
      config: read,
      schema: { querystring: z.strictObject(periodQuery), response: { 200: activeUsersSchema } },
    },
    async (req, reply) => {
      const period = periodOf(req.query, DAY, 7 * DAY, 3660 * DAY);
      return cached(reply, 'active-users', period, null, () => stats.activeUsers(period));
    },
  );

  app.get(
    '/stats/sessions',
    {
      config: read,
      schema: { querystring: z.strictObject(periodQuery), response: { 200: sessionsStatsSchema } },
    },
    async (req, reply) => {
      const period = periodOf(req.query, DAY, 7 * DAY, 3660 * DAY);
      return cached(reply, 'sessions', period, null, () => stats.sessions(period));
    },
  );

  app.post(
    '/stats/funnel',
    {
      config: read,
      schema: { body: funnelBody, response: { 200: funnelSchema } },
    },
    async (req, reply) => {
      const { steps, window, ...q } = req.body;
      const period = periodOf(q, DAY, 7 * DAY, 366 * DAY);
      const windowMs = parseDuration(window);
      return cached(reply, 'funnel', period, [steps, windowMs], async () => {
        const counted = await stats.funnel(period, steps, windowMs);
        const first = counted[0]!.users;
        const rate = (n: number, of: number) => (of === 0 ? 0 : Math.round((n / of) * 10_000) / 10_000);
        return {
          window_ms: windowMs,
          steps: counted.map((s, i) => ({
            ...s,
            conversion_from_previous: i === 0 ? 1 : rate(s.users, counted[i - 1]!.users),
            conversion_from_first: i === 0 ? 1 : rate(s.users, first),
          })),
        };
      });
    },
  );
};
