import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { announceReadModelsChanged, createStatsCache, listenForInvalidations, type StatsCache } from '../src/read-side/stats-cache.js';
import { createPool } from '../src/store/pool.js';
import { eventually, stack } from './helpers.js';

// The stats cache in both of its forms: in memory always, and on a real Redis when REDIS_URL is
// set (CI sets it when the machine runs one).

const log = pino({ level: 'silent' });
const { redisUrl } = loadConfig().readSide.statsCache;
const settings = { currentTtlMs: 5_000, closedTtlMs: 60_000, maxEntries: 100 };

function behaves(make: () => StatsCache) {
  const cache = make();
  afterAll(() => cache.close());

  it('answers a repeat from the cache, computes concurrent misses once, and forgets on invalidation', async () => {
    const key = `k-${randomUUID()}`;
    let computed = 0;
    const compute = async () => {
      computed++;
      await new Promise((r) => setTimeout(r, 50));
      return { n: computed };
    };
    const [a, b] = await Promise.all([cache.get(key, 10_000, compute), cache.get(key, 10_000, compute)]);
    expect([a.value, b.value]).toEqual([{ n: 1 }, { n: 1 }]);
    expect(computed).toBe(1);
    expect(await cache.get(key, 10_000, compute)).toEqual({ value: { n: 1 }, hit: true });
    await cache.invalidate();
    expect(await cache.get(key, 10_000, compute)).toEqual({ value: { n: 2 }, hit: false });
  });

  it('keeps an answer only for its time to live', async () => {
    const key = `k-${randomUUID()}`;
    let n = 0;
    await cache.get(key, 150, async () => ++n);
    await new Promise((r) => setTimeout(r, 300));
    expect(await cache.get(key, 150, async () => ++n)).toEqual({ value: 2, hit: false });
  });
}

describe('stats cache in memory', () => {
  behaves(() => createStatsCache(settings, log));

  it('is cleared in every process by an announcement through PostgreSQL', async () => {
    const pool = createPool(stack().databaseUrl, 2);
    const cache = createStatsCache(settings, log);
    const listener = listenForInvalidations(pool, cache, log);
    try {
      const key = `k-${randomUUID()}`;
      await cache.get(key, 60_000, async () => 1);
      // The listener connects in the background; announce until it has heard one.
      await eventually(
        async () => {
          await announceReadModelsChanged(pool);
          return (await cache.get(key, 60_000, async () => 2)).hit ? undefined : true;
        },
        10_000,
        'the cache to be cleared',
      );
    } finally {
      await listener.close();
      await pool.end();
    }
  });
});

describe.runIf(redisUrl)('stats cache on Redis', () => {
  behaves(() => createStatsCache({ ...settings, redisUrl: redisUrl! }, log));

  it('is shared by every process: an answer cached by one is a hit for another', async () => {
    const one = createStatsCache({ ...settings, redisUrl: redisUrl! }, log);
    const other = createStatsCache({ ...settings, redisUrl: redisUrl! }, log);
    try {
      const key = `k-${randomUUID()}`;
      await one.get(key, 10_000, async () => 'first');
      expect(await other.get(key, 10_000, async () => 'second')).toEqual({ value: 'first', hit: true });
      await other.invalidate();
      expect((await one.get(key, 10_000, async () => 'third')).value).toBe('third');
    } finally {
      await one.close();
      await other.close();
    }
  });
});
