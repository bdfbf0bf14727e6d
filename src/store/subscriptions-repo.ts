import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import { toStorableText } from '../events/storable.js';
import type { Pool } from './pool.js';

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
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryOutcome {
  /** `pending`: failed this time, will be retried; `failed`: the subscriber refused it for good. */
  status: DeliveryStatus;
  responseCode?: number;
  error?: string;
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

const PLAIN: SecretBox = { seal: (s) => s, open: (s) => s };

/** `box` seals signing secrets at rest; it must be the same key ring in every process. */
export function createSubscriptionsRepo(pool: Pool, box: SecretBox = PLAIN) {
  const toSubscription = (r: Record<string, unknown>): Subscription => ({
    ...(r as unknown as Subscription),
    secret: r.secret === null ? null : box.open(r.secret as string),
    created_at: (r.created_at as Date).toISOString(),
  });
  return {
    async create(s: { url: string; subjects: string[]; secret?: string; format?: SubscriptionFormat }): Promise<Subscription> {
      const res = await pool.query(
        'INSERT INTO subscriptions (id, url, subjects, secret, format) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [randomUUID(), s.url, s.subjects, s.secret === undefined ? null : box.seal(s.secret), s.format ?? 'envelope'],
      );
      return toSubscription(res.rows[0]);
    },
    async list(): Promise<Subscription[]> {
      return (await pool.query('SELECT * FROM subscriptions ORDER BY created_at, id')).rows.map(toSubscription);
    },
    async remove(id: string): Promise<boolean> {
      return ((await pool.query('DELETE FROM subscriptions WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    /** Subscriptions that have received the event: a retry or a reprocess skips them. */
    async deliveredTo(eventId: string): Promise<Set<string>> {
      const res = await pool.query(`SELECT subscription_id FROM webhook_deliveries WHERE event_id = $1 AND status = 'delivered'`, [
        eventId,
      ]);
      return new Set(res.rows.map((r) => r.subscription_id as string));
    },
    /** One delivery attempt's outcome; a delivered row is never changed again. */
    async recordAttempt(eventId: string, subscriptionId: string, outcome: DeliveryOutcome): Promise<void> {
      await pool.query(
        `INSERT INTO webhook_deliveries AS d (event_id, subscription_id, status, attempts, response_code, last_error, delivered_at, updated_at)
         VALUES ($1, $2, $3::varchar, 1, $4, $5, CASE WHEN $3 = 'delivered' THEN now() END, now())
         ON CONFLICT (event_id, subscription_id) DO UPDATE
           SET status = EXCLUDED.status, attempts = d.attempts + 1, response_code = EXCLUDED.response_code,
               last_error = EXCLUDED.last_error, delivered_at = EXCLUDED.delivered_at, updated_at = now()
         WHERE d.status <> 'delivered'`,
        [
          eventId,
          subscriptionId,
          outcome.status,
          outcome.responseCode ?? null,
          outcome.error === undefined ? null : toStorableText(outcome.error),
        ],
      );
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
