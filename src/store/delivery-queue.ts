import { toStorableText } from '../events/storable.js';
import type { Pool } from './pool.js';
import type { DeliveryOutcome } from './subscriptions-repo.js';
import { inTransaction, type Client } from './transaction.js';

// The subscribers' queue is `webhook_deliveries` itself: a delivery to a paused subscriber is a
// row `waiting`, ordered by its event's received_at, and the subscriber workflow sends them.
// Failure counting and the automatic pause live here too, since they decide whether a failed
// delivery waits or is retried by its event.

const text = (s: string | undefined) => (s === undefined ? null : toStorableText(s));

// A delivery that had ended (failed, expired, skipped) and is tried again (an operator's reprocess)
// starts a new count: the subscription's attempts are per try, not for ever.
const NEXT_ATTEMPT = `CASE WHEN d.status IN ('failed', 'expired', 'skipped') THEN 1 ELSE d.attempts + 1 END`;

/** How a run of failures pauses a subscriber, and how many attempts a delivery gets. */
export interface FailurePolicy {
  pauseAfterFailures: number;
  failureWindowMs: number;
  /** The subscription's attempts per delivery; the delivery is `failed` once they are spent. */
  maxAttempts: number;
}

export interface FailureRecorded {
  /** `waiting`: the subscriber is paused and the delivery queued; `pending`: retry it; `failed`: attempts spent. */
  status: 'waiting' | 'pending' | 'failed';
  attempts: number;
  /** This failure paused the subscriber. */
  pausedNow: boolean;
  /** The subscriber is paused or disabled now (by this failure or before it). */
  notActive: boolean;
}

export interface WaitingDelivery {
  event_id: string;
  attempts: number;
  /** Set for an ordered subscription's deliveries. */
  ordering_key: string | null;
}

/** A run of failures: consecutive, and restarted from one once its first is older than the window. */
async function countFailure(c: Client, subscriptionId: string, outcome: DeliveryOutcome, windowMs: number): Promise<number> {
  const res = await c.query(
    `INSERT INTO subscription_health AS h (subscription_id, consecutive_failures, first_failure_at, last_failure_at, last_response_code, last_error)
     VALUES ($1, 1, now(), now(), $2, $3)
     ON CONFLICT (subscription_id) DO UPDATE SET
       consecutive_failures = CASE WHEN h.consecutive_failures = 0 OR h.first_failure_at < now() - $4::float8 * interval '1 millisecond'
                                   THEN 1 ELSE h.consecutive_failures + 1 END,
       first_failure_at = CASE WHEN h.consecutive_failures = 0 OR h.first_failure_at < now() - $4::float8 * interval '1 millisecond'
                               THEN now() ELSE h.first_failure_at END,
       last_failure_at = now(), last_response_code = $2, last_error = $3
     RETURNING consecutive_failures`,
    [subscriptionId, outcome.responseCode ?? null, text(outcome.error), windowMs],
  );
  return res.rows[0].consecutive_failures as number;
}

async function pause(c: Client, subscriptionId: string, failures: number, outcome: DeliveryOutcome): Promise<boolean> {
  const reason = `paused after ${failures} failed deliveries in a row; last: ${outcome.error ?? 'not delivered'}`;
  const res = await c.query(
    `UPDATE subscriptions SET state = 'paused', state_reason = $2, state_actor = NULL, state_by = 'service', state_since = now()
      WHERE id = $1 AND state = 'active'`,
    [subscriptionId, text(reason)],
  );
  return (res.rowCount ?? 0) > 0;
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

    /**
     * A failed attempt worth retrying (5xx, 408, 429, timeout, connection): counted into the
     * subscriber's run of failures, which pauses it at the threshold. The delivery then waits
     * (so does any other failure once paused), and starts a new count of attempts for the
     * drain's retries (its last error and response code stay); otherwise it is `pending` for its
     * event to retry, or, from the queue (`fromQueue`), stays `waiting` for the next pass;
     * `failed` once the subscription's attempts are spent.
     */
    async recordFailure(
      d: { eventId: string; subscriptionId: string; receivedAt: string; outcome: DeliveryOutcome; fromQueue?: boolean },
      policy: FailurePolicy,
    ): Promise<FailureRecorded> {
      return inTransaction(pool, async (c) => {
        const failures = await countFailure(c, d.subscriptionId, d.outcome, policy.failureWindowMs);
        const pausedNow = failures >= policy.pauseAfterFailures && (await pause(c, d.subscriptionId, failures, d.outcome));
        const state = (await c.query('SELECT state FROM subscriptions WHERE id = $1 FOR SHARE', [d.subscriptionId])).rows[0]?.state;
        const otherwise = d.fromQueue ? 'waiting' : 'pending';
        const res = await c.query(
          `INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, response_code, last_error, latency_ms,
                                                event_received_at, waiting_since, updated_at)
           VALUES ($1, $2, CASE WHEN $3::boolean THEN 'waiting' WHEN $4::int <= 1 THEN 'failed' ELSE $5::varchar END,
                   CASE WHEN $3::boolean THEN 0 ELSE 1 END, $6, $7, $8, $9, CASE WHEN $3::boolean OR $5::varchar = 'waiting' THEN now() END, now())
           ON CONFLICT (event_id, subscription_id) DO UPDATE SET
             status = CASE WHEN $3::boolean THEN 'waiting' WHEN ${NEXT_ATTEMPT} >= $4::int THEN 'failed' ELSE $5::varchar END,
             attempts = CASE WHEN $3::boolean THEN 0 ELSE ${NEXT_ATTEMPT} END, response_code = EXCLUDED.response_code, last_error = EXCLUDED.last_error,
             latency_ms = EXCLUDED.latency_ms, waiting_since = COALESCE(d.waiting_since, EXCLUDED.waiting_since), sending_until = NULL,
             updated_at = now()
           WHERE d.status <> 'delivered'
           RETURNING status, attempts`,
          [
            d.eventId,
            d.subscriptionId,
            state === 'paused' || state === 'disabled',
            Math.min(policy.maxAttempts, 2_000_000_000),
            otherwise,
            d.outcome.responseCode ?? null,
            text(d.outcome.error),
            d.outcome.latencyMs ?? null,
            d.receivedAt,
          ],
        );
        const row = res.rows[0] ?? { status: 'pending', attempts: 0 };
        return { status: row.status, attempts: row.attempts, pausedNow, notActive: state === 'paused' || state === 'disabled' };
      });
    },

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
    async health(subscriptionId: string) {
      const res = await pool.query(
        `SELECT consecutive_failures, first_failure_at, last_failure_at, last_response_code, last_error
           FROM subscription_health WHERE subscription_id = $1`,
        [subscriptionId],
      );
      const r = res.rows[0];
      return {
        consecutive_failures: r?.consecutive_failures ?? 0,
        first_failure_at: r?.first_failure_at?.toISOString() ?? null,
        last_failure_at: r?.last_failure_at?.toISOString() ?? null,
        last_response_code: r?.last_response_code ?? null,
        last_error: r?.last_error ?? null,
      };
    },

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
