import type { FieldCrypto, FieldView } from '../crypto/field-crypto.js';
import type { EventStatus } from '../events/envelope.js';
import { EVENT_COLUMNS, toStored, type StoredEvent } from '../store/events-repo.js';
import type { Pool } from '../store/pool.js';

// Reads of many events. Every filter is a column that leads one of the indexes of migration 004
// (or a GIN index: on data, or on the keyed hashes of encrypted fields, migration 008), pages are
// keyset pages on (received_at, event_id), which every index ends with, and from/to bound
// received_at, the partition key: a query reads only the months it asks for, in index order, and
// stops after one page.

export interface EventFilter {
  user_id?: string;
  session_id?: string;
  event_type?: string;
  source?: string;
  category?: string;
  status?: EventStatus;
  /** received_at ≥ from */
  from?: string;
  /** received_at < to */
  to?: string;
  /** received_at ≤ as_of: the events the service had received at that time. */
  as_of?: string;
  /** JSON containment: `data @> contains`. */
  contains?: Record<string, unknown>;
  /** Any of these keyed hashes of an encrypted field's value (FieldCrypto.searchHashes). */
  field_hashes?: string[];
}

export interface PageRequest {
  limit: number;
  order: 'asc' | 'desc';
  after?: Cursor;
}

export interface Cursor {
  receivedAt: string;
  eventId: string;
}

/** Opaque to clients: where the last page ended. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.receivedAt}|${c.eventId}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor | undefined {
  const [receivedAt, eventId, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !receivedAt || !eventId) return undefined;
  if (Number.isNaN(Date.parse(receivedAt)) || !/^[0-9a-f-]{36}$/i.test(eventId)) return undefined;
  return { receivedAt, eventId };
}

// Microseconds, which a Date would lose: a cursor must name the exact row it stopped at.
const CURSOR_TIME = `to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const EQUALITY: [keyof EventFilter, string][] = [
  ['user_id', 'user_id'],
  ['session_id', 'session_id'],
  ['event_type', 'event_type'],
  ['source', 'event_source'],
  ['category', 'event_category'],
  ['status', 'status'],
];

/** The SQL of one page; exported so that a test can EXPLAIN exactly what the API runs. */
export function listQuery(filter: EventFilter, page: PageRequest): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  const param = (v: unknown) => `$${values.push(v)}`;
  for (const [key, column] of EQUALITY) if (filter[key] !== undefined) where.push(`${column} = ${param(filter[key])}`);
  if (filter.from) where.push(`received_at >= ${param(filter.from)}::timestamptz`);
  if (filter.to) where.push(`received_at < ${param(filter.to)}::timestamptz`);
  if (filter.as_of) where.push(`received_at <= ${param(filter.as_of)}::timestamptz`);
  if (filter.contains) where.push(`data @> ${param(JSON.stringify(filter.contains))}::jsonb`);
  if (filter.field_hashes) where.push(`field_hashes && ${param(filter.field_hashes)}::text[]`);
  // As of a time, an event's status is the last transition recorded by then.
  const columns = filter.as_of
    ? EVENT_COLUMNS.replace(
        /\bstatus\b/,
        `coalesce((SELECT h.status FROM event_status_history h WHERE h.event_id = events.event_id
        AND h.at <= ${param(filter.as_of)}::timestamptz ORDER BY h.at DESC, h.id DESC LIMIT 1), 'pending') AS status`,
      )
    : EVENT_COLUMNS;
  const dir = page.order === 'asc' ? 'ASC' : 'DESC';
  if (page.after) {
    where.push(
      `(received_at, event_id) ${page.order === 'asc' ? '>' : '<'} (${param(page.after.receivedAt)}::timestamptz, ${param(page.after.eventId)}::uuid)`,
    );
  }
  const text = `SELECT ${columns}, ${CURSOR_TIME} AS cursor_time FROM events${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY received_at ${dir}, event_id ${dir} LIMIT ${param(page.limit + 1)}`;
  return { text, values };
}

export interface SessionSummary {
  session_id: string;
  user_ids: string[];
  started_at: string;
  ended_at: string;
  duration_ms: number;
  event_count: number;
}

export const sessionQuery = (sessionId: string) => ({
  text: `SELECT min(timestamp) AS started_at, max(timestamp) AS ended_at, count(*)::int AS event_count,
                coalesce(array_agg(DISTINCT user_id) FILTER (WHERE user_id IS NOT NULL), '{}') AS user_ids
           FROM events WHERE session_id = $1`,
  values: [sessionId],
});

export function createEventQueries(pool: Pool, fields?: FieldCrypto) {
  return {
    /** One page, and the cursor of the next when there is more; encrypted fields in clear or masked. */
    async list(filter: EventFilter, page: PageRequest, view: FieldView): Promise<{ items: StoredEvent[]; next_cursor: string | null }> {
      const { text, values } = listQuery(filter, page);
      const rows = (await pool.query(text, values)).rows;
      const more = rows.length > page.limit;
      const shown = rows.slice(0, page.limit);
      const last = shown.at(-1);
      const items = shown.map(({ cursor_time: _, ...row }) => toStored(row, fields, view));
      return { items, next_cursor: more && last ? encodeCursor({ receivedAt: last.cursor_time, eventId: last.event_id }) : null };
    },

    async session(sessionId: string): Promise<SessionSummary | undefined> {
      const { text, values } = sessionQuery(sessionId);
      const row = (await pool.query(text, values)).rows[0];
      if (!row || row.event_count === 0) return undefined;
      return {
        session_id: sessionId,
        user_ids: row.user_ids,
        started_at: row.started_at.toISOString(),
        ended_at: row.ended_at.toISOString(),
        duration_ms: row.ended_at.getTime() - row.started_at.getTime(),
        event_count: row.event_count,
      };
    },
  };
}

export type EventQueries = ReturnType<typeof createEventQueries>;
