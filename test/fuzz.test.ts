import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz/run-fuzz.js';
import { stack } from './helpers.js';

// The short, seeded version of `npm run fuzz`: the same classes of hostile requests, fewer of
// them, always the same ones.

describe('hostile requests', () => {
  it('are answered 2xx or 4xx with the error body, every accepted event ends, the service stays healthy', async () => {
    const report = await runFuzz({
      apiUrl: stack().apiUrl,
      databaseUrl: stack().databaseUrl,
      count: 400,
      seed: 20_260_101,
      concurrency: 8,
      stallTimeoutMs: 15_000,
    });

    // Soft: one run shows every kind of failure it found, not only the first.
    expect.soft(report.failures.requests).toEqual([]);
    expect.soft(report.total['5xx']).toBe(0);
    expect.soft(report.total.dropped).toBe(0);
    expect.soft(report.accepted).toBeGreaterThan(0);
    expect.soft(report.failures.unfinished).toEqual([]);
    expect.soft(report.finished).toBe(report.accepted);
    expect.soft(report.failures.health).toBeUndefined();
  }, 55_000);
});
