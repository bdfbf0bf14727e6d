import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createEventQueries, type Cursor, decodeCursor, type EventFilter } from '../../read-side/event-queries.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError, notFound } from '../errors.js';
import { eventFilterQuery, eventPageSchema, idText, isoTime, pageQuery, sessionSchema } from '../schemas/read-side.js';

const read = { scope: 'events:read' } as const;

function cursorOf(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  const cursor = decodeCursor(text);
  if (!cursor) throw new HttpError(400, 'invalid_cursor', 'the cursor is not one this API gave');
  return cursor;
}

function filterOf(q: z.infer<typeof eventFilterQuery> & { as_of?: string }): EventFilter {
  const { data, ...rest } = q;
  return { ...rest, ...(data !== undefined && { contains: JSON.parse(data) as Record<string, unknown> }) };
}

// The event log, read many at a time: by any filter, a user's timeline, a session.
// Read from the replica when there is one (`readPool`): a page may lag the primary by its lag.
export const eventQueryRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'readPool'>> = async (app, { readPool }) => {
  const queries = createEventQueries(readPool);

  app.get(
    '/events',
    {
      config: read,
      schema: { querystring: z.strictObject({ ...eventFilterQuery.shape, ...pageQuery.shape }), response: { 200: eventPageSchema } },
    },
    async (req) => {
      const { limit, order, cursor, ...filter } = req.query;
      return queries.list(filterOf(filter), { limit, order, after: cursorOf(cursor) });
    },
  );

  const timelineQuery = z.strictObject({
    ...eventFilterQuery.omit({ user_id: true }).shape,
    ...pageQuery.shape,
    as_of: isoTime.optional().describe('only the events received by then, each with its status at that time'),
  });
  app.get(
    '/users/:user_id/events',
    {
      config: read,
      schema: { params: z.object({ user_id: idText }), querystring: timelineQuery, response: { 200: eventPageSchema } },
    },
    async (req) => {
      const { limit, order, cursor, ...filter } = req.query;
      return queries.list({ ...filterOf(filter), user_id: req.params.user_id }, { limit, order, after: cursorOf(cursor) });
    },
  );

  app.get(
    '/sessions/:session_id',
    {
      config: read,
      schema: {
        params: z.object({ session_id: idText }),
        querystring: z.strictObject({ limit: pageQuery.shape.limit, cursor: pageQuery.shape.cursor }),
        response: { 200: sessionSchema },
      },
    },
    async (req) => {
      const { session_id } = req.params;
      const [summary, page] = await Promise.all([
        queries.session(session_id),
        queries.list({ session_id }, { limit: req.query.limit, order: 'asc', after: cursorOf(req.query.cursor) }),
      ]);
      if (!summary) throw notFound(`session ${session_id}`);
      return { ...summary, events: page.items, next_cursor: page.next_cursor };
    },
  );
};
