import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type FieldCrypto, fieldCryptoFor } from '../../crypto/field-crypto.js';
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

/** The names anywhere in a JSON value: a containment filter must not name an encrypted field, which it could never match. */
function namesIn(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(namesIn);
  return Object.entries(value).flatMap(([k, v]) => [k, ...namesIn(v)]);
}

function filterOf(q: z.infer<typeof eventFilterQuery> & { as_of?: string }, req: FastifyRequest, fields?: FieldCrypto): EventFilter {
  const { data, field, value, ...rest } = q;
  const contains = data === undefined ? undefined : (JSON.parse(data) as Record<string, unknown>);
  const encrypted = contains && fields ? namesIn(contains).find((n) => fields.isEncryptedField(n)) : undefined;
  if (encrypted)
    throw new HttpError(400, 'encrypted_field', `"${encrypted}" is stored encrypted: find it with field=${encrypted}&value=…, not in data`);
  if ((field === undefined) !== (value === undefined)) throw new HttpError(400, 'invalid_filter', 'field and value go together');
  if (field === undefined || value === undefined) return { ...rest, ...(contains && { contains }) };
  if (!fields?.isEncryptedField(field))
    throw new HttpError(
      400,
      'invalid_filter',
      `"${field}" is not an encrypted field (ENCRYPTED_FIELDS: ${fields?.fields.join(',') || 'none'})`,
    );
  // A lookup tells whether a value is in the log, which is what the scope guards: without it,
  // trying every phone number would undo the encryption.
  if (req.fieldView !== 'clear')
    throw new HttpError(403, 'forbidden', 'looking events up by an encrypted field needs the scope events:decrypt');
  return { ...rest, ...(contains && { contains }), field_hashes: fields.searchHashes(field, value) };
}

// The event log, read many at a time: by any filter, a user's timeline, a session. Encrypted
// fields are shown in clear to the scope events:decrypt, else as a placeholder. Read from the
// replica when there is one (`readPool`): a page may lag the primary by its lag.
export const eventQueryRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'readPool' | 'config'>> = async (app, { readPool, config }) => {
  const fields = fieldCryptoFor(config);
  const queries = createEventQueries(readPool, fields);

  app.get(
    '/events',
    {
      config: read,
      schema: { querystring: z.strictObject({ ...eventFilterQuery.shape, ...pageQuery.shape }), response: { 200: eventPageSchema } },
    },
    async (req) => {
      const { limit, order, cursor, ...filter } = req.query;
      return queries.list(filterOf(filter, req, fields), { limit, order, after: cursorOf(cursor) }, req.fieldView);
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
      return queries.list(
        { ...filterOf(filter, req, fields), user_id: req.params.user_id },
        { limit, order, after: cursorOf(cursor) },
        req.fieldView,
      );
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
        queries.list({ session_id }, { limit: req.query.limit, order: 'asc', after: cursorOf(req.query.cursor) }, req.fieldView),
      ]);
      if (!summary) throw notFound(`session ${session_id}`);
      return { ...summary, events: page.items, next_cursor: page.next_cursor };
    },
  );
};
