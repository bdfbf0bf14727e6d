import type { PoolClient } from 'pg';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';
import type { Subscription, SubscriptionsRepo } from './subscriptions-repo.js';

// A trigger on `subscriptions` sends NOTIFY subscriptions_changed (migration 003); the cache
// reloads the list when told, so matching an event costs no query. While the LISTEN connection
// is down the list is reloaded at most every `maxAgeMs`, and the listener reconnects on next use.

export interface SubscriptionCacheDeps {
  pool: Pool;
  repo: Pick<SubscriptionsRepo, 'list'>;
  log: Pick<Logger, 'warn'>;
  /** Upper bound on staleness, whatever happens to notifications. */
  maxAgeMs?: number;
}

export function createSubscriptionCache({ pool, repo, log, maxAgeMs = 5_000 }: SubscriptionCacheDeps) {
  let listener: PoolClient | undefined;
  let listening: Promise<void> | undefined;
  let cached: { list: Subscription[]; at: number } | undefined;
  let loading: { generation: number; list: Promise<Subscription[]> } | undefined;
  let closed = false;
  let generation = 0;

  async function listen(): Promise<void> {
    const client = await pool.connect();
    client.on('notification', () => {
      generation++;
      cached = undefined;
    });
    client.on('error', (err) => {
      log.warn({ err: err.message }, 'subscription listener lost; reloading on next use');
      cached = undefined;
      listener = undefined;
      listening = undefined;
      client.release(err);
    });
    try {
      await client.query('LISTEN subscriptions_changed');
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    listener = client;
  }

  return {
    async list(): Promise<Subscription[]> {
      if (!closed && !listening) {
        listening = listen().catch((err: Error) => {
          log.warn({ err: err.message }, 'cannot listen for subscription changes');
          listening = undefined;
        });
      }
      await listening;
      if (cached && Date.now() - cached.at < maxAgeMs) return cached.list;
      // A list loaded while a change was notified may predate the change: used once, not kept.
      const seen = generation;
      const at = Date.now();
      if (loading?.generation !== seen) {
        const load = { generation: seen, list: repo.list() };
        loading = load;
        void load.list.finally(() => loading === load && (loading = undefined)).catch(() => undefined);
      }
      const list = await loading.list;
      if (seen === generation) cached = { list, at };
      return list;
    },

    async close(): Promise<void> {
      closed = true;
      await listening;
      listener?.release();
      listener = undefined;
    },
  };
}

export type SubscriptionCache = ReturnType<typeof createSubscriptionCache>;
