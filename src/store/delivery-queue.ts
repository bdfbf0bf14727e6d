import { toStorableText } from '../events/storable.js';
import type { Pool } from './pool.js';
import { type FailurePolicy, type FailureRecorded, readHealth, recordFailure } from './subscriber-health.js';
import type { DeliveryOutcome } from './subscriptions-repo.js';

// The subscribers' queue is `webhook_deliveries` itself: a delivery to a paused subscriber is a
// row `waiting`, ordered by its event's received_at, and the subscriber workflow sends them. A
// failed delivery is recorded through here too (subscriber-health.ts counts the run of failures
// that decides whether it waits or is retried by its event).

const text = (s: string | undefined) => (s === undefined ? null : toStorableText(s));

export interface WaitingDelivery {
  event_id: string;
  attempts: number;
  /** Set for an ordered subscription's deliveries. */
  ordering_key: string | null;
}

export function createDeliveryQueue(pool: Pool) {
  return {
    /**
     * A delivery to a subscriber that is not active: `waiting` when paused, `skipped` when
     * disabled. Checked against the subscription's row, locked as it is read, so a resume that
     * commits first makes this answer undefined (deliver it now) and one that commits after
     * finds the delivery already queued for its drain. With an ordering key (an ordered
     * subscription) every delivery is queued, active or paused: the drain sends each key in order.
     */
    async queue(
      eventId: string,
      subscriptionId: string,
      receivedAt: string,
      orderingKey?: string,
    ): Promise<'waiting' | 'skipped' | undefined> {
      const res = await pool.query(
        `WITH sub AS (
           SELECT id, CASE state WHEN 'disabled' THEN 'skipped' ELSE 'waiting' END AS status
             FROM subscriptions WHERE id = $2 AND (state IN ('paused', 'disabled') OR $4::text IS NOT NULL) FOR SHARE
         ), queued AS (
           INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, event_received_at, waiting_since,
                                                ordering_key, updated_at)
           SELECT $1, id, status, 0, $3, CASE WHEN status = 'waiting' THEN now() END, $4, now() FROM sub
           ON CONFLICT (event_id, subscription_id) DO UPDATE
             SET status = EXCLUDED.status, attempts = 0, waiting_since = COALESCE(d.waiting_since, EXCLUDED.waiting_since),
                 ordering_key = EXCLUDED.ordering_key, sending_until = NULL, updated_at = now()
           WHERE d.status NOT IN ('delivered', 'waiting')
         )
         SELECT status FROM sub`,
        [eventId, subscriptionId, receivedAt, orderingKey ?? null],
      );
      return res.rows[0]?.status;
    },

    /** A failed attempt worth retrying, counted into the subscriber's run of failures (subscriber-health.ts). */
    recordFailure: (d: Parameters<typeof recordFailure>[1], policy: FailurePolicy): Promise<FailureRecorded> =>
      recordFailure(pool, d, policy),

    /** The oldest waiting deliveries, in the order their events were received. */
    async oldestWaiting(subscriptionId: string, limit: number): Promise<WaitingDelivery[]> {
      const res = await pool.query(
        `SELECT event_id, attempts, ordering_key FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'waiting'
          ORDER BY event_received_at, event_id LIMIT $2`,
        [subscriptionId, limit],
      );
      return res.rows;
    },

    /**
     * An ordered subscription's next deliveries: the oldest waiting one of each key (never a
     * key's second while its first waits), oldest first, leaving out the keys held in this pass
     * and heads received less than `settleMs` ago (an event of the same key received a moment
     * earlier may still be on its way into the queue).
     */
    async keyHeads(subscriptionId: string, limit: number, held: string[], settleMs: number): Promise<WaitingDelivery[]> {
      const res = await pool.query(
        `SELECT event_id, attempts, ordering_key FROM (
           SELECT DISTINCT ON (COALESCE(ordering_key, '')) event_id, attempts, COALESCE(ordering_key, '') AS ordering_key, event_received_at
             FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'waiting'
            ORDER BY COALESCE(ordering_key, ''), event_received_at, event_id
         ) heads
         WHERE event_received_at < now() - $4::float8 * interval '1 millisecond' AND NOT (ordering_key = ANY($3::text[]))
         ORDER BY event_received_at, event_id LIMIT $2`,
        [subscriptionId, limit, held, settleMs],
      );
      return res.rows;
    },

    /** How many wait, and how long until the oldest of them passes `maxWaitMs` (undefined when none waits). */
    async waiting(subscriptionId: string, maxWaitMs: number): Promise<{ count: number; nextExpiryMs?: number }> {
      const res = await pool.query(
        `SELECT count(*)::int AS n,
                (EXTRACT(EPOCH FROM (min(waiting_since) + $2::float8 * interval '1 millisecond' - now())) * 1000)::bigint AS next_ms
           FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'waiting'`,
        [subscriptionId, maxWaitMs],
      );
      const { n, next_ms } = res.rows[0];
      return { count: n, ...(next_ms !== null && { nextExpiryMs: Math.max(0, Number(next_ms)) }) };
    },

    async waitingCount(subscriptionId: string): Promise<number> {
      const res = await pool.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'waiting'`, [
        subscriptionId,
      ]);
      return res.rows[0].n;
    },

    /** A waiting delivery sent (delivered, or refused for good); it ends the subscriber's run of failures when delivered. */
    async settleWaiting(eventId: string, subscriptionId: string, outcome: DeliveryOutcome): Promise<void> {
      await pool.query(
        `WITH healthy AS (
           UPDATE subscription_health SET consecutive_failures = 0
            WHERE $3 = 'delivered' AND subscription_id = $2 AND consecutive_failures > 0
         )
         UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, response_code = $4, last_error = $5, latency_ms = $6,
                delivered_at = CASE WHEN $3 = 'delivered' THEN now() END, updated_at = now()
          WHERE event_id = $1 AND subscription_id = $2 AND status = 'waiting'`,
        [eventId, subscriptionId, outcome.status, outcome.responseCode ?? null, text(outcome.error), outcome.latencyMs ?? null],
      );
    },

    /** Waiting deliveries older than the maximum wait end `expired`, with the reason. */
    async expire(subscriptionId: string, maxWaitMs: number): Promise<number> {
      const res = await pool.query(
        `UPDATE webhook_deliveries SET status = 'expired', updated_at = now(),
                last_error = 'waited longer than ' || $2::bigint || ' ms for the subscriber' || COALESCE('; last: ' || last_error, '')
          WHERE subscription_id = $1 AND status = 'waiting' AND waiting_since < now() - $2::float8 * interval '1 millisecond'`,
        [subscriptionId, maxWaitMs],
      );
      return res.rowCount ?? 0;
    },

    /** The run of failures as it stands, for the API and the subscriber's state. */
    health: (subscriptionId: string) => readHealth(pool, subscriptionId),

    /** Every subscription's state and waiting deliveries: the metrics' gauges. */
    async states(): Promise<{ id: string; state: string; waiting: number }[]> {
      const res = await pool.query(
        `SELECT s.id, s.state,
                (SELECT count(*)::int FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.status = 'waiting') AS waiting
           FROM subscriptions s`,
      );
      return res.rows;
    },
  };
}

export type DeliveryQueue = ReturnType<typeof createDeliveryQueue>;
