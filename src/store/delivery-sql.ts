// The statements' parts that write an event's webhook deliveries on its happy path, shared by the
// deliveries' own statements (subscriptions-repo.ts) and the event's, which carry them to save a
// round trip each: the run's start claims a new event's deliveries, its `completed` transition
// records those made. Each part takes its parameters' places ($n) from the statement it joins.

/** The sending attempt's answer for one delivered subscriber. */
export interface Delivered {
  subscriptionId: string;
  responseCode?: number;
  latencyMs?: number;
}

/** Deliveries to claim before sending: the subscriber, and how long the claim holds (its request timeout and a margin). */
export interface ClaimWanted {
  id: string;
  leaseMs: number;
}

/** A delivery's claim before it is sent. */
export type DeliveryClaim = { state: 'claimed' } | { state: 'done' } | { state: 'in-flight'; retryInMs?: number };

/**
 * Claims deliveries of one event (`sending_until`, migration 009): a delivery already made or
 * waiting in its subscriber's queue, or claimed by another attempt until later, is not claimed.
 * Returns the subscription ids claimed. A subscription deleted meanwhile is left out.
 * `onlyIf`: a condition of the enclosing statement (the run's start claims only for an event it stored).
 */
export const CLAIM_DELIVERIES = (p: { eventId: string; receivedAt: string; ids: string; leases: string; onlyIf?: string }) =>
  `INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, event_received_at, sending_until, updated_at)
   SELECT ${p.eventId}, w.id, 'pending', 0, ${p.receivedAt}, now() + w.lease_ms * interval '1 millisecond', now()
     FROM unnest(${p.ids}::uuid[], ${p.leases}::int[]) AS w (id, lease_ms) JOIN subscriptions s ON s.id = w.id
    WHERE ${p.onlyIf ?? 'true'}
   ON CONFLICT (event_id, subscription_id) DO UPDATE SET sending_until = EXCLUDED.sending_until
    WHERE d.status NOT IN ('delivered', 'waiting') AND (d.sending_until IS NULL OR d.sending_until <= now())
   RETURNING subscription_id`;

/** The claim's parameters: subscription ids and lease lengths, as two arrays. */
export const claimValues = (wanted: readonly ClaimWanted[]) => [wanted.map((w) => w.id), wanted.map((w) => Math.ceil(w.leaseMs))];

/**
 * Records deliveries made (never changing one already delivered), ending their claims, and ends
 * each subscriber's run of failures (the health row is touched only when there is a run to end).
 * Two CTEs, to join a statement's WITH.
 */
export const RECORD_DELIVERED = (p: { eventId: string; receivedAt: string; ids: string; codes: string; latencies: string }) =>
  `delivered AS (
     INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, response_code, latency_ms, event_received_at,
                                          delivered_at, updated_at)
     SELECT ${p.eventId}, w.id, 'delivered', 1, w.code, w.latency_ms, ${p.receivedAt}, now(), now()
       FROM unnest(${p.ids}::uuid[], ${p.codes}::int[], ${p.latencies}::int[]) AS w (id, code, latency_ms) JOIN subscriptions s ON s.id = w.id
     ON CONFLICT (event_id, subscription_id) DO UPDATE
       SET status = 'delivered', attempts = d.attempts + 1, response_code = EXCLUDED.response_code, last_error = NULL,
           latency_ms = EXCLUDED.latency_ms, delivered_at = now(), sending_until = NULL, updated_at = now()
     WHERE d.status <> 'delivered'
   ), healthy AS (
     UPDATE subscription_health SET consecutive_failures = 0 WHERE subscription_id = ANY(${p.ids}::uuid[]) AND consecutive_failures > 0
   )`;

/** The record's parameters: subscription ids, response codes and latencies, as three arrays. */
export const deliveredValues = (delivered: readonly Delivered[]) => [
  delivered.map((d) => d.subscriptionId),
  delivered.map((d) => d.responseCode ?? null),
  delivered.map((d) => d.latencyMs ?? null),
];
