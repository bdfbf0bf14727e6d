import { randomUUID } from 'node:crypto';
import type { Pool } from './pool.js';

export interface Subscription {
  id: string;
  url: string;
  subjects: string[];
  secret: string | null;
  created_at: string;
}

export function createSubscriptionsRepo(pool: Pool) {
  const toSubscription = (r: Record<string, unknown>): Subscription => ({ ...(r as unknown as Subscription), created_at: (r.created_at as Date).toISOString() });
  return {
    async create(s: { url: string; subjects: string[]; secret?: string }): Promise<Subscription> {
      const res = await pool.query(
        'INSERT INTO subscriptions (id, url, subjects, secret) VALUES ($1, $2, $3, $4) RETURNING *',
        [randomUUID(), s.url, s.subjects, s.secret ?? null],
      );
      return toSubscription(res.rows[0]);
    },
    async list(): Promise<Subscription[]> {
      return (await pool.query('SELECT * FROM subscriptions ORDER BY created_at, id')).rows.map(toSubscription);
    },
    async remove(id: string): Promise<boolean> {
      return ((await pool.query('DELETE FROM subscriptions WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    async wasDelivered(eventId: string, subscriptionId: string): Promise<boolean> {
      const res = await pool.query('SELECT 1 FROM webhook_deliveries WHERE event_id = $1 AND subscription_id = $2', [eventId, subscriptionId]);
      return res.rowCount === 1;
    },
    async recordDelivery(eventId: string, subscriptionId: string, statusCode: number): Promise<void> {
      await pool.query(
        'INSERT INTO webhook_deliveries (event_id, subscription_id, status_code) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [eventId, subscriptionId, statusCode],
      );
    },
  };
}

export type SubscriptionsRepo = ReturnType<typeof createSubscriptionsRepo>;
