import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import { toStorableText } from '../events/storable.js';
import {
  CLAIM_DELIVERIES,
  claimValues,
  type ClaimWanted,
  type Delivered,
  type DeliveryClaim,
  deliveredValues,
  RECORD_DELIVERED,
} from './delivery-sql.js';
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
     * Claims the event's deliveries to these subscriptions before they are sent (CLAIM_DELIVERIES),
     * so that two overlapping attempts at one event never both send. A delivery is `done` when it
     * was delivered or waits in its subscriber's queue (nothing to send), `claimed` by this call,
     * or `in-flight`: another attempt holds its claim (for `retryInMs` more, when this statement
     * could see it). A subscription deleted meanwhile is left out. Recording the attempt ends the claim.
     */
    async claim(eventId: string, receivedAt: string, wanted: readonly ClaimWanted[]): Promise<Map<string, DeliveryClaim>> {
      const res = await pool.query({
        name: 'claim-deliveries',
        text: `WITH claimed AS (${CLAIM_DELIVERIES({ eventId: '$1', receivedAt: '$4', ids: '$2', leases: '$3' })})
         SELECT w.id, c.subscription_id IS NOT NULL AS claimed, d.status IN ('delivered', 'waiting') AS done,
                CASE WHEN d.sending_until IS NOT NULL
                     THEN greatest(0, ceil(extract(epoch FROM d.sending_until - now()) * 1000))::int END AS retry_in_ms
           FROM unnest($2::uuid[]) AS w (id) JOIN subscriptions s ON s.id = w.id
           LEFT JOIN claimed c ON c.subscription_id = w.id
           LEFT JOIN webhook_deliveries d ON d.event_id = $1 AND d.subscription_id = w.id`,
        values: [eventId, ...claimValues(wanted), receivedAt],
      });
      // The last SELECT sees the rows as they were before this statement: a claimed row's old state is ignored.
      return new Map(
        res.rows.map((r): [string, DeliveryClaim] => [
          r.id,
          r.claimed ? { state: 'claimed' } : r.done ? { state: 'done' } : { state: 'in-flight', retryInMs: r.retry_in_ms ?? undefined },
        ]),
      );
    },
    /** Claims taken and never sent on (the subscription stopped taking the subject meanwhile): the rows go. */
    async unclaim(eventId: string, subscriptionIds: readonly string[]): Promise<void> {
      await pool.query(
        `DELETE FROM webhook_deliveries WHERE event_id = $1 AND subscription_id = ANY($2::uuid[]) AND status = 'pending' AND attempts = 0`,
        [eventId, subscriptionIds],
      );
    },
    /** Deliveries made by an attempt that will not complete its event (another delivery failed): recorded at once. */
    async recordDelivered(eventId: string, receivedAt: string, delivered: readonly Delivered[]): Promise<void> {
      if (delivered.length === 0) return;
      await pool.query({
        name: 'record-delivered',
        text: `WITH ${RECORD_DELIVERED({ eventId: '$1', receivedAt: '$2', ids: '$3', codes: '$4', latencies: '$5' })} SELECT 1`,
        values: [eventId, receivedAt, ...deliveredValues(delivered)],
      });
    },
    /** A delivery the subscriber refused for good (a 4xx other than 408/429, or a refused destination); a delivered row is never changed. */
    async recordRefused(eventId: string, subscriptionId: string, outcome: DeliveryOutcome, receivedAt: string): Promise<void> {
      await pool.query({
        name: 'record-delivery-refused',
        text: `INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, response_code, last_error, latency_ms,
                                              event_received_at, updated_at)
         VALUES ($1, $2, 'failed', 1, $3, $4, $5, $6, now())
         ON CONFLICT (event_id, subscription_id) DO UPDATE
           SET status = 'failed', attempts = d.attempts + 1, response_code = EXCLUDED.response_code, last_error = EXCLUDED.last_error,
               latency_ms = EXCLUDED.latency_ms, sending_until = NULL, updated_at = now()
         WHERE d.status <> 'delivered'`,
        values: [eventId, subscriptionId, outcome.responseCode ?? null, text(outcome.error), outcome.latencyMs ?? null, receivedAt],
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
