import type { EventEnvelope } from '../events/envelope.js';
import type { Pool } from '../store/pool.js';
import { eventAsSource, identityValues, projectSql, SOURCE_COLUMNS } from '../store/read-model-sql.js';

// The statement that counts events into the read models is the store's (src/store/read-model-sql.ts):
// the run's start counts its event in the same statement; these count the events of a source.

const ONE_EVENT = projectSql(eventAsSource([1, 2, 3, 4, 5, 6, 7, 8]));

/** The events after `after` (received_at|event_id), read in the order of idx_events_time. */
export const CHUNK = projectSql(`SELECT ${SOURCE_COLUMNS} FROM events
  WHERE (received_at, event_id) > (split_part($1, '|', 1)::timestamptz, split_part($1, '|', 2)::uuid)
  ORDER BY received_at, event_id LIMIT $2`);
/** Where a chunked read of every event starts. */
export const CHUNK_START = '-infinity|00000000-0000-0000-0000-000000000000';

/** Counts one event into the read models; one round trip, nothing when it was counted before. */
export async function projectEvent(pool: Pool, e: EventEnvelope): Promise<boolean> {
  // Named: each connection parses and plans it once, then sends only the values.
  const res = await pool.query({
    name: 'project-event',
    text: ONE_EVENT,
    values: [...identityValues(e), e.timestamp, e.received_at],
  });
  return res.rows[0].counted === 1;
}

/** The read-model tables a rebuild empties. */
export const READ_MODEL_TABLES = [
  'projected_events',
  'event_counts_hourly',
  'event_counts_daily',
  'daily_active_users',
  'session_summaries',
] as const;
