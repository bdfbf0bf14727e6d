import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseDuration } from '../../config.js';
import { EVENT_STATUSES, token } from '../../events/envelope.js';
import { listEventExecutions, statusSummary, visibilityQuery, visibilityUiUrl } from '../../temporal/visibility.js';
import type { AppDeps } from '../app-deps.js';

/** The filter operators use to pick events; every value is validated before it reaches a query. */
export const eventFilter = z.strictObject({
  status: z.enum(EVENT_STATUSES).optional(),
  event_type: token.optional(),
  source: z.enum(['frontend', 'backend']).optional(),
  category: token.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

const page = z.object({
  page_size: z.coerce.number().int().min(1).max(1000).default(100),
  page_token: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
});

export const visibilityRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { temporal, config }) => {
  const read = { scope: 'events:read' } as const;
  const ui = (query: string) => visibilityUiUrl(config.temporal.uiUrl, config.temporal.namespace, query);

  app.get('/events/status-summary', { config: read, schema: { querystring: eventFilter.omit({ status: true }) } }, async (req) => {
    const counts = await statusSummary(temporal, req.query);
    return { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  });

  app.get(
    '/events/failed',
    { config: read, schema: { querystring: eventFilter.omit({ status: true }).extend(page.shape) } },
    async (req) => {
      const { page_size, page_token, ...filter } = req.query;
      const query = visibilityQuery({ ...filter, status: 'failed' });
      return { ...(await listEventExecutions(temporal, query, page_size, page_token)), query, temporal_ui: ui(query) };
    },
  );

  const olderThan = z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30s, 10m, 2h')
    .default('10m');
  app.get('/events/stuck', { config: read, schema: { querystring: page.extend({ older_than: olderThan }) } }, async (req) => {
    const { page_size, page_token, older_than } = req.query;
    const before = new Date(Date.now() - parseDuration(older_than)).toISOString();
    // `pending` too: a run whose first workflow task never ran (no worker) is stuck as well.
    const query = visibilityQuery({ status: ['pending', 'processing'], running: true, status_before: before });
    return { ...(await listEventExecutions(temporal, query, page_size, page_token)), query, temporal_ui: ui(query) };
  });
};
