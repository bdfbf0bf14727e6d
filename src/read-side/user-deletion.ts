import type { Pool } from '../store/pool.js';
import { inTransaction } from '../store/transaction.js';

// Deleting a user's events for privacy: the events, everything hanging off them (ids, history,
// deliveries, projection marks: the foreign keys cascade), and their share of the read models,
// in one transaction, with a tombstone that keeps who asked and how many, and nothing else.

export interface Deletion {
  user_id: string;
  deleted: number;
  sessions: number;
  tombstone_id: string;
  deleted_at: string;
}

const DELETE_EVENTS = `
WITH gone AS (
  DELETE FROM events WHERE user_id = $1
  RETURNING event_id, event_type, event_source, event_category, session_id, received_at
), counted AS (
  SELECT g.* FROM gone g JOIN projected_events p USING (event_id)
), hourly AS (
  UPDATE event_counts_hourly c SET count = c.count - x.n
    FROM (SELECT date_trunc('hour', received_at, 'UTC') AS hour, event_type, event_source, event_category, count(*) AS n FROM counted GROUP BY 1, 2, 3, 4) x
   WHERE c.hour = x.hour AND c.event_type = x.event_type AND c.event_source = x.event_source AND c.event_category = x.event_category
), daily AS (
  UPDATE event_counts_daily c SET count = c.count - x.n
    FROM (SELECT (received_at AT TIME ZONE 'UTC')::date AS day, event_type, event_source, event_category, count(*) AS n FROM counted GROUP BY 1, 2, 3, 4) x
   WHERE c.day = x.day AND c.event_type = x.event_type AND c.event_source = x.event_source AND c.event_category = x.event_category
), active AS (
  DELETE FROM daily_active_users WHERE user_id = $1
), ids AS (
  DELETE FROM event_ids WHERE event_id IN (SELECT event_id FROM gone)
)
SELECT count(*)::int AS deleted, coalesce(array_agg(DISTINCT session_id) FILTER (WHERE session_id IS NOT NULL), '{}') AS sessions FROM gone`;

// The sessions the user's events were part of, summarized again from what is left of them.
const RESUMMARIZE_SESSIONS = `
WITH fresh AS (
  SELECT e.session_id, min(e.user_id) AS user_id, min(e.timestamp) AS started_at, max(e.timestamp) AS ended_at, count(*)::int AS event_count,
         min(e.received_at) AS first_received_at, max(e.received_at) AS last_received_at
    FROM events e JOIN projected_events p USING (event_id) WHERE e.session_id = ANY($1) GROUP BY e.session_id
), emptied AS (
  DELETE FROM session_summaries WHERE session_id = ANY($1) AND session_id NOT IN (SELECT session_id FROM fresh)
)
UPDATE session_summaries s SET user_id = f.user_id, started_at = f.started_at, ended_at = f.ended_at, event_count = f.event_count,
       first_received_at = f.first_received_at, last_received_at = f.last_received_at
  FROM fresh f WHERE s.session_id = f.session_id`;

export async function deleteUserEvents(pool: Pool, userId: string, actor: string | undefined): Promise<Deletion> {
  return inTransaction(pool, async (client) => {
    // Two deletions of one user at once would each take back the same share of the counts.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`delete-user:${userId}`]);
    const { deleted, sessions } = (await client.query(DELETE_EVENTS, [userId])).rows[0];
    if (sessions.length > 0) await client.query(RESUMMARIZE_SESSIONS, [sessions]);
    const tomb = (
      await client.query('INSERT INTO user_tombstones (user_id, deleted, actor) VALUES ($1, $2, $3) RETURNING id, deleted_at', [
        userId,
        deleted,
        actor ?? null,
      ])
    ).rows[0];
    return {
      user_id: userId,
      deleted,
      sessions: sessions.length,
      tombstone_id: String(tomb.id),
      deleted_at: tomb.deleted_at.toISOString(),
    };
  });
}
