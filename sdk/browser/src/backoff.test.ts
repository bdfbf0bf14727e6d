import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from './backoff.js';

const opts = { baseMs: 1000, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles per attempt between half and all of the capped delay', () => {
    expect(backoffDelay(1, opts, 0, () => 0)).toBe(500);
    expect(backoffDelay(1, opts, 0, () => 1)).toBe(1000);
    expect(backoffDelay(3, opts, 0, () => 0)).toBe(2000);
    expect(backoffDelay(3, opts, 0, () => 0.5)).toBe(3000);
    expect(backoffDelay(20, opts, 0, () => 1)).toBe(30_000);
  });

  it('never comes back before Retry-After', () => {
    expect(backoffDelay(1, opts, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(10, opts, 5000, () => 1)).toBe(30_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2025 00:00:07 GMT', now)).toBe(0);
  });

  it('is 0 when absent or unreadable', () => {
    expect(parseRetryAfter(null)).toBe(0);
    expect(parseRetryAfter('soon')).toBe(0);
  });
});
