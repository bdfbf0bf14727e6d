import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import { toStorableText } from '../events/storable.js';
import type { Pool } from './pool.js';
import type { SubscriptionSettings, SubscriptionState } from './subscription-settings.js';
import { inTransaction } from './transaction.js';

/** How deliveries are sent: the envelope as JSON, or a CloudEvent wrapping it (structured or binary mode). */
export const SUBSCRIPTION_FORMATS = ['envelope', 'cloudevents-structured', 'cloudevents-binary'] as const;
export type SubscriptionFormat = (typeof SUBSCRIPTION_FORMATS)[number];

export interface Subscription {
  id: string;
  url: string;
  subjects: string[];
  secret: string | null;
  format: SubscriptionFormat;
  created_at: string;
  state: SubscriptionState;
  state_reason: string | null;
  state_actor: string | null;
  state_since: string;
  /** Who set the state: the service (a pause after failures, probed and resumed by itself) or an operator. */
  state_by: 'service' | 'operator';
  settings: SubscriptionSettings;
}

/**
 * `waiting`: queued for a paused subscriber (or re-queued by a resend or replay), sent by its
 * subscriber workflow; `expired`: waited longer than the subscription's maximum; `skipped`: the
 * subscription was disabled.
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'waiting' | 'expired' | 'skipped';

export interface DeliveryOutcome {
  /** `pending`: failed this time, will be retried; `failed`: the subscriber refused it for good. */
  status: 'pending' | 'delivered' | 'failed';
  responseCode?: number;
  error?: string;
  latencyMs?: number;
}

/** A delivery's claim before it is sent (`claim`). */
export type DeliveryClaim = { state: 'claimed' } | { state: 'done' } | { state: 'in-flight'; retryInMs?: number };

export interface Delivery {
  subscription_id: string;
  url: string | null;
  status: DeliveryStatus;
  attempts: number;
  response_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  updated_at: string;
}

const text = (s: string | undefined) => (s === undefined ? null : toStorableText(s));

const PLAIN: SecretBox = { seal: (s) => s, open: (s) => s };

/** `box` seals signing secrets at rest; it must be the same key ring in every process. */
export function createSubscriptionsRepo(pool: Pool, box: SecretBox = PLAIN) {
  const toSubscription = (r: Record<string, unknown>): Subscription => ({
    ...(r as unknown as Subscription),
    secret: r.secret === null ? null : box.open(r.secret as string),
    created_at: (r.created_at as Date).toISOString(),
    state_since: (r.state_since as Date).toISOString(),
  });
  return {
    async create(s: {
      url: string;
      subjects: string[];
      secret?: string;
      format?: SubscriptionFormat;
      settings?: SubscriptionSettings;
    }): Promise<Subscription> {
      const res = await pool.query(
        'INSERT INTO subscriptions (id, url, subjects, secret, format, settings) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [randomUUID(), s.url, s.subjects, s.secret === undefined ? null : box.seal(s.secret), s.format ?? 'envelope', s.settings ?? {}],
      );
      return toSubscription(res.rows[0]);
    },
    async list(): Promise<Subscription[]> {
      return (await pool.query('SELECT * FROM subscriptions ORDER BY created_at, id')).rows.map(toSubscription);
    },
    async get(id: string): Promise<Subscription | undefined> {
      const row = (await pool.query('SELECT * FROM subscriptions WHERE id = $1', [id])).rows[0];
      return row && toSubscription(row);
    },
    /**
     * An operator's (or a probe's) change of state, with why and who. Leaving `paused` ends the
     * run of failures; the health row is written first, in the order the failure path locks them.
     * `only`: change it only from these states (a probe resumes only what the service paused).
     */
    async setState(
      id: string,
      change: { state: SubscriptionState; reason?: string; actor?: string; by: 'service' | 'operator' },
      only?: { state: SubscriptionState; by: 'service' | 'operator' },
    ): Promise<Subscription | undefined> {
      return inTransaction(pool, async (c) => {
        if (change.state === 'active') {
          await c.query('UPDATE subscription_health SET consecutive_failures = 0 WHERE subscription_id = $1', [id]);
        }
        const res = await c.query(
          `UPDATE subscriptions SET state = $2, state_reason = $3, state_actor = $4, state_by = $5, state_since = now()
            WHERE id = $1 AND ($6::varchar IS NULL OR (state = $6 AND state_by = $7)) RETURNING *`,
          [id, change.state, text(change.reason), text(change.actor), change.by, only?.state ?? null, only?.by ?? null],
        );
        return res.rows[0] && toSubscription(res.rows[0]);
      });
    },
    async remove(id: string): Promise<boolean> {
      return ((await pool.query('DELETE FROM subscriptions WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    /**
     * Claims the event's deliveries to these subscriptions before they are sent, each until its
     * `leaseMs` has passed, so that two overlapping attempts at one event never both send. A
     * delivery is `done` when it was delivered or waits in its subscriber's queue (nothing to send),
     * `claimed` by this call, or `in-flight`: another attempt holds its claim (for `retryInMs`
     * more, when this statement could see it). A subscription deleted meanwhile is left out. Recording the attempt ends the claim.
     */
    async claim(eventId: string, receivedAt: string, wanted: { id: string; leaseMs: number }[]): Promise<Map<string, DeliveryClaim>> {
      const res = await pool.query({
        name: 'claim-deliveries',
        text: `WITH wanted AS (
           SELECT w.id, w.lease_ms FROM unnest($2::uuid[], $3::int[]) AS w (id, lease_ms) JOIN subscriptions s ON s.id = w.id
         ), claimed AS (
           INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, event_received_at, sending_until, updated_at)
           SELECT $1, id, 'pending', 0, $4, now() + lease_ms * interval '1 millisecond', now() FROM wanted
           ON CONFLICT (event_id, subscription_id) DO UPDATE SET sending_until = EXCLUDED.sending_until
            WHERE d.status NOT IN ('delivered', 'waiting') AND (d.sending_until IS NULL OR d.sending_until <= now())
           RETURNING subscription_id
         )
         SELECT w.id, c.subscription_id IS NOT NULL AS claimed, d.status IN ('delivered', 'waiting') AS done,
                greatest(0, ceil(extract(epoch FROM d.sending_until - now()) * 1000))::int AS retry_in_ms
           FROM wanted w LEFT JOIN claimed c ON c.subscription_id = w.id
           LEFT JOIN webhook_deliveries d ON d.event_id = $1 AND d.subscription_id = w.id`,
        values: [eventId, wanted.map((w) => w.id), wanted.map((w) => Math.ceil(w.leaseMs)), receivedAt],
      });
      // The last SELECT sees the rows as they were before this statement: a claimed row's old state is ignored.
      return new Map(
        res.rows.map((r): [string, DeliveryClaim] => [
          r.id,
          r.claimed ? { state: 'claimed' } : r.done ? { state: 'done' } : { state: 'in-flight', retryInMs: r.retry_in_ms ?? undefined },
        ]),
      );
    },
    /**
     * One delivery attempt's outcome (delivered, or refused for good); a delivered row is never
     * changed again. A delivery ends the subscriber's run of failures, in the same statement (the
     * health row is touched only when there is a run to end).
     */
    async recordAttempt(eventId: string, subscriptionId: string, outcome: DeliveryOutcome, receivedAt: string): Promise<void> {
      await pool.query({
        name: 'record-delivery-attempt',
        text: `WITH healthy AS (
           UPDATE subscription_health SET consecutive_failures = 0
            WHERE $3 = 'delivered' AND subscription_id = $2 AND consecutive_failures > 0
         )
         INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, response_code, last_error, latency_ms,
                                              event_received_at, delivered_at, updated_at)
         VALUES ($1, $2, $3::varchar, 1, $4, $5, $6, $7, CASE WHEN $3 = 'delivered' THEN now() END, now())
         ON CONFLICT (event_id, subscription_id) DO UPDATE
           SET status = EXCLUDED.status, attempts = d.attempts + 1, response_code = EXCLUDED.response_code,
               last_error = EXCLUDED.last_error, latency_ms = EXCLUDED.latency_ms, delivered_at = EXCLUDED.delivered_at,
               sending_until = NULL, updated_at = now()
         WHERE d.status <> 'delivered'`,
        values: [
          eventId,
          subscriptionId,
          outcome.status,
          outcome.responseCode ?? null,
          text(outcome.error),
          outcome.latencyMs ?? null,
          receivedAt,
        ],
      });
    },
    async deliveries(eventId: string): Promise<Delivery[]> {
      const res = await pool.query(
        `SELECT d.subscription_id, s.url, d.status, d.attempts, d.response_code, d.last_error, d.delivered_at, d.updated_at
           FROM webhook_deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id
          WHERE d.event_id = $1 ORDER BY d.subscription_id`,
        [eventId],
      );
      return res.rows.map((r) => ({
        subscription_id: r.subscription_id,
        url: r.url,
        status: r.status,
        attempts: r.attempts,
        response_code: r.response_code,
        last_error: r.last_error,
        delivered_at: r.delivered_at?.toISOString() ?? null,
        updated_at: r.updated_at.toISOString(),
      }));
    },
  };
}

export type SubscriptionsRepo = ReturnType<typeof createSubscriptionsRepo>;
