import { randomUUID } from 'node:crypto';
import { toStorableText } from '../events/storable.js';
import type { Pool } from './pool.js';
import type { DeliveryStatus } from './subscriptions-repo.js';

// A subscription's deliveries as a log (filtered by status and by their events' received_at,
// keyset pages), and re-sending: one delivery, or a time range as a replay. Re-sending puts the
// deliveries back in the subscriber's queue (`waiting`), so its drain sends them, oldest first, at
// its rate, and a crash anywhere resumes where it stopped; the `webhook-id` stays the event id.

export interface LoggedDelivery {
  event_id: string;
  /** The Standard Webhooks `webhook-id` the subscriber received (and receives again on a re-send): the event id. */
  webhook_id: string;
  status: DeliveryStatus;
  attempts: number;
  response_code: number | null;
  latency_ms: number | null;
  last_error: string | null;
  event_received_at: string;
  waiting_since: string | null;
  delivered_at: string | null;
  updated_at: string;
  replay_id: string | null;
}

export interface LogFilter {
  status?: DeliveryStatus[];
  since?: string;
  until?: string;
  limit: number;
  /** The last row of the previous page: (event_received_at, event_id). */
  after?: { at: string; id: string };
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function createDeliveryLog(pool: Pool) {
  return {
    async list(subscriptionId: string, f: LogFilter): Promise<LoggedDelivery[]> {
      const res = await pool.query(
        `SELECT event_id, status, attempts, response_code, latency_ms, last_error, event_received_at, waiting_since, delivered_at,
                updated_at, replay_id
           FROM webhook_deliveries
          WHERE subscription_id = $1 AND ($2::text[] IS NULL OR status = ANY($2))
            AND ($3::timestamptz IS NULL OR event_received_at >= $3) AND ($4::timestamptz IS NULL OR event_received_at < $4)
            AND ($5::timestamptz IS NULL OR (event_received_at, event_id) > ($5, $6::uuid))
          ORDER BY event_received_at, event_id LIMIT $7`,
        [subscriptionId, f.status ?? null, f.since ?? null, f.until ?? null, f.after?.at ?? null, f.after?.id ?? null, f.limit],
      );
      return res.rows.map((r) => ({
        event_id: r.event_id,
        webhook_id: r.event_id,
        status: r.status,
        attempts: r.attempts,
        response_code: r.response_code,
        latency_ms: r.latency_ms,
        last_error: r.last_error,
        event_received_at: r.event_received_at.toISOString(),
        waiting_since: iso(r.waiting_since),
        delivered_at: iso(r.delivered_at),
        updated_at: r.updated_at.toISOString(),
        replay_id: r.replay_id,
      }));
    },

    /** Queues one delivery to be sent again, whatever its status (a delivered one too). False if there is none. */
    async resend(subscriptionId: string, eventId: string): Promise<boolean> {
      const res = await pool.query(
        `UPDATE webhook_deliveries SET status = 'waiting', attempts = 0, waiting_since = now(), sending_until = NULL, replay_id = NULL, updated_at = now()
          WHERE subscription_id = $1 AND event_id = $2`,
        [subscriptionId, eventId],
      );
      return (res.rowCount ?? 0) > 0;
    },

    /** Queues every delivery of the range (optionally only those with the given statuses) as one replay. */
    async replay(
      subscriptionId: string,
      r: { since: string; until: string; statuses?: DeliveryStatus[]; reason?: string; actor?: string },
    ): Promise<{ replay_id: string; matched: number }> {
      const id = randomUUID();
      const res = await pool.query(
        `WITH queued AS (
           UPDATE webhook_deliveries SET status = 'waiting', attempts = 0, waiting_since = now(), sending_until = NULL, replay_id = $2, updated_at = now()
            WHERE subscription_id = $1 AND event_received_at >= $3 AND event_received_at < $4
              AND status <> 'waiting' AND ($5::text[] IS NULL OR status = ANY($5))
           RETURNING 1
         )
         INSERT INTO delivery_replays (id, subscription_id, since, until, statuses, matched, reason, actor)
         SELECT $2, $1, $3, $4, $5, count(*), $6, $7 FROM queued
         RETURNING matched`,
        [
          subscriptionId,
          id,
          r.since,
          r.until,
          r.statuses ?? null,
          r.reason === undefined ? null : toStorableText(r.reason),
          r.actor === undefined ? null : toStorableText(r.actor),
        ],
      );
      return { replay_id: id, matched: res.rows[0].matched };
    },

    /** A replay's progress: its deliveries by status now. Undefined if there is no such replay. */
    async replayProgress(subscriptionId: string, replayId: string) {
      const replay = (
        await pool.query(
          'SELECT id, since, until, statuses, matched, reason, actor, created_at FROM delivery_replays WHERE id = $1 AND subscription_id = $2',
          [replayId, subscriptionId],
        )
      ).rows[0];
      if (!replay) return undefined;
      const counts = await pool.query(`SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE replay_id = $1 GROUP BY status`, [
        replayId,
      ]);
      const by = Object.fromEntries(counts.rows.map((c) => [c.status, c.n])) as Record<string, number>;
      const waiting = by.waiting ?? 0;
      return {
        replay_id: replay.id,
        since: replay.since.toISOString(),
        until: replay.until.toISOString(),
        statuses: replay.statuses,
        reason: replay.reason,
        actor: replay.actor,
        created_at: replay.created_at.toISOString(),
        matched: replay.matched,
        // A delivery re-sent again later (another replay, a resend) leaves this one's count.
        counts: by,
        done: waiting === 0,
      };
    },
  };
}

export type DeliveryLog = ReturnType<typeof createDeliveryLog>;
