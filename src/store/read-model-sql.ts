import type { EventEnvelope } from '../events/envelope.js';

// The read models of migration 005, maintained from a set of events `src` in one statement:
// the events not yet counted are marked in `projected_events`, and only those are added to the
// hourly and daily counts, the daily active users and the session summaries. Being one
// statement, it counts an event entirely or not at all, and counting it again changes nothing.
// The run's start (events-repo.ts, begin-run) counts its event with these same CTEs, so that an
// event stored is an event counted without a round trip of its own; the read side's rebuild and
// replay count a source of events with projectSql.

export const SOURCE_COLUMNS = 'event_id, event_type, event_source, event_category, user_id, session_id, timestamp, received_at';

/** The first six of SOURCE_COLUMNS (the event's identity, what the read models group by) as a statement's values. */
export const identityValues = (e: EventEnvelope): unknown[] => [
  e.event_id,
  e.event_type,
  e.event_source,
  e.event_category,
  e.user_id ?? null,
  e.session_id ?? null,
];

/** One event as a source: SOURCE_COLUMNS from the statement's parameters numbered `n`, in that order. */
export const eventAsSource = (n: number[]) =>
  `SELECT ${SOURCE_COLUMNS.split(', ')
    .map((column, i) => `$${n[i]}::${SOURCE_TYPES[i]} AS ${column}`)
    .join(', ')}`;
const SOURCE_TYPES = ['uuid', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'timestamptz', 'timestamptz'];

/** The counting CTEs, after a CTE named `src` that selects SOURCE_COLUMNS. */
export const COUNT_INTO_READ_MODELS = `marked AS (
  INSERT INTO projected_events (event_id) SELECT event_id FROM src ON CONFLICT DO NOTHING RETURNING event_id
), ev AS (
  SELECT src.* FROM src JOIN marked USING (event_id)
), hourly AS (
  INSERT INTO event_counts_hourly AS c (hour, event_type, event_source, event_category, count)
  SELECT date_trunc('hour', received_at, 'UTC'), event_type, event_source, event_category, count(*) FROM ev GROUP BY 1, 2, 3, 4
  ON CONFLICT (hour, event_type, event_source, event_category) DO UPDATE SET count = c.count + EXCLUDED.count
), daily AS (
  INSERT INTO event_counts_daily AS c (day, event_type, event_source, event_category, count)
  SELECT (received_at AT TIME ZONE 'UTC')::date, event_type, event_source, event_category, count(*) FROM ev GROUP BY 1, 2, 3, 4
  ON CONFLICT (day, event_type, event_source, event_category) DO UPDATE SET count = c.count + EXCLUDED.count
), active AS (
  INSERT INTO daily_active_users AS a (day, user_id, first_seen_at, events)
  SELECT (received_at AT TIME ZONE 'UTC')::date, user_id, min(received_at), count(*) FROM ev WHERE user_id IS NOT NULL GROUP BY 1, 2
  ON CONFLICT (day, user_id) DO UPDATE SET first_seen_at = least(a.first_seen_at, EXCLUDED.first_seen_at), events = a.events + EXCLUDED.events
), sessions AS (
  INSERT INTO session_summaries AS s (session_id, user_id, started_at, ended_at, event_count, first_received_at, last_received_at)
  SELECT session_id, min(user_id), min(timestamp), max(timestamp), count(*), min(received_at), max(received_at)
    FROM ev WHERE session_id IS NOT NULL GROUP BY session_id
  ON CONFLICT (session_id) DO UPDATE SET
    user_id = coalesce(s.user_id, EXCLUDED.user_id),
    started_at = least(s.started_at, EXCLUDED.started_at), ended_at = greatest(s.ended_at, EXCLUDED.ended_at),
    event_count = s.event_count + EXCLUDED.event_count,
    first_received_at = least(s.first_received_at, EXCLUDED.first_received_at),
    last_received_at = greatest(s.last_received_at, EXCLUDED.last_received_at)
)`;

/** `source` selects SOURCE_COLUMNS. Answers how many of its events were counted now, and where it ended. */
export const projectSql = (source: string) => `
WITH src AS (${source}),
${COUNT_INTO_READ_MODELS}
SELECT (SELECT count(*)::int FROM marked) AS counted, (SELECT count(*)::int FROM src) AS seen,
       (SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || event_id
          FROM src ORDER BY received_at DESC, event_id DESC LIMIT 1) AS last`;
