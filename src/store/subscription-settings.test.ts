import { describe, expect, it } from 'vitest';
import { type DeliveryDefaults, deliveryPolicy, ORDERING_KEY_PATH, orderingValue, retryDelayMs } from './subscription-settings.js';

const defaults: DeliveryDefaults = {
  pauseAfterFailures: 5,
  failureWindowMs: 600_000,
  maxWaitMs: 3 * 86_400_000,
  drainRate: 20,
  timeoutMs: 10_000,
  retry: { maximumAttempts: 10, initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 300_000 },
};

describe('subscription delivery settings', () => {
  it("takes the service's defaults for every setting left out, and has no schedule of its own then", () => {
    expect(deliveryPolicy({}, defaults)).toEqual({ ...defaults, ownRetry: false });
  });

  it("takes the subscription's own, key by key", () => {
    const policy = deliveryPolicy(
      { pause_after_failures: 2, drain_rate: 5, timeout_ms: 3_000, retry: { max_attempts: 4, backoff: 3 }, ordering_key: 'user_id' },
      defaults,
    );
    expect(policy).toMatchObject({
      pauseAfterFailures: 2,
      failureWindowMs: 600_000,
      drainRate: 5,
      timeoutMs: 3_000,
      retry: { maximumAttempts: 4, initialIntervalMs: 1_000, backoffCoefficient: 3, maximumIntervalMs: 300_000 },
      ownRetry: true,
      orderingKey: 'user_id',
    });
  });

  it('backs off exponentially from the first delay, capped', () => {
    const policy = deliveryPolicy({ retry: { initial_interval_ms: 100, backoff: 2, max_interval_ms: 500 } }, defaults);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([100, 200, 400, 500, 500]);
  });

  it('reads an ordering key from the envelope or a path into its data, as text', () => {
    const event = { user_id: 'u1', event_type: 'paid', data: { account: { id: 42 }, name: 'x' } };
    expect(orderingValue(event, 'user_id')).toBe('u1');
    expect(orderingValue(event, 'session_id')).toBe('');
    expect(orderingValue(event, 'event_type')).toBe('paid');
    expect(orderingValue(event, 'data.account.id')).toBe('42');
    expect(orderingValue(event, 'data.name')).toBe('x');
    expect(orderingValue(event, 'data.missing.deeper')).toBe('');
    for (const ok of ['user_id', 'data.a', 'data.a.b_c']) expect(ok).toMatch(ORDERING_KEY_PATH);
    for (const bad of ['data', 'metadata.x', 'data..a', 'data.a;drop']) expect(bad).not.toMatch(ORDERING_KEY_PATH);
  });
});
