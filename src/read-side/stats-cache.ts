import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { PoolClient } from 'pg';
import type { Logger } from '../logger.js';
import type { Pool } from '../store/pool.js';

// Hot statistics are asked for far more often than they change. With REDIS_URL, answers are
// shared by every API process in Redis; without it, each process keeps its own LRU. A rebuild
// or a deletion invalidates everything at once: Redis keys carry a generation that is bumped,
// and every process is told by a PostgreSQL NOTIFY to drop its own entries.

export const INVALIDATION_CHANNEL = 'read_models_changed';

export interface StatsCacheSettings {
  redisUrl?: string;
  /**
   * Names the read models the answers come from, so that deployments sharing a Redis never see
   * each other's answers (the API derives it from its database).
   */
  namespace?: string;
  /** How long an answer whose period is still open is kept. */
  currentTtlMs: number;
  /** How long an answer about a closed period is kept. */
  closedTtlMs: number;
  maxEntries: number;
}

export interface StatsCache {
  readonly kind: 'redis' | 'memory';
  /** The cached answer for `key`, or `compute()`'s, kept for `ttlMs`. Concurrent misses compute once. */
  get<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<{ value: T; hit: boolean }>;
  /** Forgets every answer, in every process. */
  invalidate(): Promise<void>;
  /** Drops this process's own entries. */
  clearLocal(): void;
  close(): Promise<void>;
}

export function createStatsCache(settings: StatsCacheSettings, log: Pick<Logger, 'warn'>): StatsCache {
  const inFlight = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    const running = inFlight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = compute().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  };

  if (settings.redisUrl) {
    // Queued while (re)connecting, but never waited on for long: a slow Redis must not make
    // the stats slower than the database would answer them.
    const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 250 });
    redis.on('error', () => {});
    const prefix = `event-service:stats:${settings.namespace ?? 'default'}`;
    const generationKey = `${prefix}:generation`;
    // Redis down: answer from the database, not with an error.
    const quiet = <T>(op: Promise<T>): Promise<T | undefined> =>
      op.catch((err: Error) => (log.warn({ err: err.message }, 'stats cache: redis unavailable'), undefined));
    return {
      kind: 'redis',
      async get(key, ttlMs, compute) {
        const generation = (await quiet(redis.get(generationKey))) ?? '0';
        const full = `${prefix}:${generation}:${key}`;
        const cached = await quiet(redis.get(full));
        if (cached) return { value: JSON.parse(cached), hit: true };
        const value = await once(full, compute);
        await quiet(redis.set(full, JSON.stringify(value), 'PX', ttlMs));
        return { value, hit: false };
      },
      async invalidate() {
        await redis.incr(generationKey);
      },
      clearLocal() {},
      async close() {
        await redis.quit().catch(() => redis.disconnect());
      },
    };
  }

  const lru = new LRUCache<string, { value: unknown }>({ max: settings.maxEntries });
  return {
    kind: 'memory',
    async get(key, ttlMs, compute) {
      const cached = lru.get(key);
      if (cached) return { value: cached.value as never, hit: true };
      const value = await once(key, compute);
      lru.set(key, { value }, { ttl: ttlMs });
      return { value, hit: false };
    },
    async invalidate() {
      lru.clear();
    },
    clearLocal() {
      lru.clear();
    },
    async close() {},
  };
}

/** A namespace for a database's read models that does not reveal its address or credentials. */
export const cacheNamespace = (databaseUrl: string | undefined): string =>
  createHash('sha256')
    .update(databaseUrl ?? '')
    .digest('base64url')
    .slice(0, 16);

/** Tells every process that the read models changed under their caches (after a rebuild or a deletion). */
export async function announceReadModelsChanged(pool: Pool, cache?: Pick<StatsCache, 'invalidate'>): Promise<void> {
  await cache?.invalidate();
  await pool.query(`SELECT pg_notify('${INVALIDATION_CHANNEL}', '')`);
}

/** Drops this process's entries whenever another announces a change; reconnects when the connection is lost. */
export function listenForInvalidations(pool: Pool, cache: StatsCache, log: Pick<Logger, 'warn'>): { close(): Promise<void> } {
  let client: PoolClient | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    try {
      const c = await pool.connect();
      c.on('notification', () => cache.clearLocal());
      c.on('error', (err) => {
        log.warn({ err: err.message }, 'stats cache: invalidation listener lost; reconnecting');
        cache.clearLocal();
        client = undefined;
        c.release(err);
        if (!closed) retry = setTimeout(() => void connect(), 1_000).unref();
      });
      await c.query(`LISTEN ${INVALIDATION_CHANNEL}`);
      if (closed) c.release();
      else client = c;
    } catch (err) {
      if (!closed) retry = setTimeout(() => void connect(), 1_000).unref();
      log.warn({ err: (err as Error).message }, 'stats cache: cannot listen for invalidations');
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      client?.release();
      client = undefined;
    },
  };
}

/** Closed periods change only by a rebuild or a deletion, which invalidate: they are kept long. */
export function ttlFor(periodEnd: string, settings: Pick<StatsCacheSettings, 'currentTtlMs' | 'closedTtlMs'>, now = Date.now()): number {
  // A period that ended a moment ago may still be gaining events being processed.
  const settled = Date.parse(periodEnd) <= now - 5 * 60_000;
  return settled ? settings.closedTtlMs : settings.currentTtlMs;
}
