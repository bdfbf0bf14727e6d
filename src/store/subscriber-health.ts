import { toStorableText } from '../events/storable.js';
import type { Pool } from './pool.js';
import type { DeliveryOutcome } from './subscriptions-repo.js';
import { inTransaction, type Client } from './transaction.js';

// A subscriber's health: its run of failed deliveries, and the automatic pause at the threshold.
// A failed delivery is recorded here, since the run decides whether it waits or is retried by its
// event (delivery-queue.ts holds the queue it may wait in).

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

/**
 * A failed attempt worth retrying (5xx, 408, 429, timeout, connection): counted into the
 * subscriber's run of failures, which pauses it at the threshold. The delivery then waits
 * (so does any other failure once paused), and starts a new count of attempts for the
 * drain's retries (its last error and response code stay); otherwise it is `pending` for its
 * event to retry, or, from the queue (`fromQueue`), stays `waiting` for the next pass;
 * `failed` once the subscription's attempts are spent.
 */
export async function recordFailure(
  pool: Pool,
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
}

/** The run of failures as it stands, for the API and the subscriber's state. */
export async function readHealth(pool: Pool, subscriptionId: string) {
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
}
