// A subscription's own delivery settings, as the API takes them and `subscriptions.settings`
// keeps them (snake_case, durations in ms); every key left out takes the service's default.

export type SubscriptionState = 'active' | 'paused' | 'disabled';
export const SUBSCRIPTION_STATES: readonly SubscriptionState[] = ['active', 'paused', 'disabled'];

export interface SubscriptionSettings {
  pause_after_failures?: number;
  failure_window_ms?: number;
  max_wait_ms?: number;
  drain_rate?: number;
  timeout_ms?: number;
  retry?: { max_attempts?: number; initial_interval_ms?: number; backoff?: number; max_interval_ms?: number };
  /** Ordered delivery: `user_id`, `session_id`, `event_type` or `data.<field>[.<field>…]`; each key's deliveries one after the other. */
  ordering_key?: string;
}

/** The service's defaults (config.subscribers, the event retry policy, WEBHOOK_TIMEOUT). */
export interface DeliveryDefaults {
  pauseAfterFailures: number;
  failureWindowMs: number;
  maxWaitMs: number;
  drainRate: number;
  timeoutMs: number;
  retry: { maximumAttempts: number; initialIntervalMs: number; backoffCoefficient: number; maximumIntervalMs: number };
}

/** A subscription's settings with the defaults filled in. */
export interface DeliveryPolicy extends DeliveryDefaults {
  /** The subscription has a retry schedule of its own: its delays replace the event's. */
  ownRetry: boolean;
  /** Set for ordered delivery: where each event's ordering key is read. */
  orderingKey?: string;
}

export function deliveryPolicy(settings: SubscriptionSettings, defaults: DeliveryDefaults): DeliveryPolicy {
  const r = settings.retry ?? {};
  return {
    pauseAfterFailures: settings.pause_after_failures ?? defaults.pauseAfterFailures,
    failureWindowMs: settings.failure_window_ms ?? defaults.failureWindowMs,
    maxWaitMs: settings.max_wait_ms ?? defaults.maxWaitMs,
    drainRate: settings.drain_rate ?? defaults.drainRate,
    timeoutMs: settings.timeout_ms ?? defaults.timeoutMs,
    retry: {
      maximumAttempts: r.max_attempts ?? defaults.retry.maximumAttempts,
      initialIntervalMs: r.initial_interval_ms ?? defaults.retry.initialIntervalMs,
      backoffCoefficient: r.backoff ?? defaults.retry.backoffCoefficient,
      maximumIntervalMs: r.max_interval_ms ?? defaults.retry.maximumIntervalMs,
    },
    ownRetry: settings.retry !== undefined && Object.keys(settings.retry).length > 0,
    ...(settings.ordering_key !== undefined && { orderingKey: settings.ordering_key }),
  };
}

/** An ordering key path the API accepts. */
export const ORDERING_KEY_PATH = /^(user_id|session_id|event_type|data(\.[A-Za-z0-9_-]{1,100}){1,8})$/;

/** The event's value at an ordering key path, as text; '' when the event has none (such events form one sequence of their own). */
export function orderingValue(
  event: { user_id?: string; session_id?: string; event_type: string; data: Record<string, unknown> },
  path: string,
): string {
  if (path === 'user_id' || path === 'session_id' || path === 'event_type') return event[path] ?? '';
  let value: unknown = event.data;
  for (const field of path.split('.').slice(1)) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[field] : undefined;
  }
  return value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}

/** The delay before the next attempt, after `attempts` failed ones (exponential, capped). */
export function retryDelayMs(policy: Pick<DeliveryPolicy, 'retry'>, attempts: number): number {
  const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = policy.retry;
  return Math.min(maximumIntervalMs, initialIntervalMs * backoffCoefficient ** Math.max(0, attempts - 1));
}
