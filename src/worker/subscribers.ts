import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config.js';
import { createDeliveryQueue } from '../store/delivery-queue.js';
import type { Pool } from '../store/pool.js';
import { type DeliveryDefaults, deliveryPolicy } from '../store/subscription-settings.js';
import type { Subscription } from '../store/subscriptions-repo.js';
import { createDataConverter } from '../temporal/codec.js';
import { wakeSubscriber } from '../temporal/subscriber-workflow.js';

export type SubscriberConfig = Pick<Config, 'temporal' | 'worker' | 'lifecycle' | 'subscribers' | 'payloadCodec' | 'env'>;

/** An ordered subscription's workflow is woken at most this often per worker (and always after the last delivery queued). */
const ORDERED_WAKE_EVERY_MS = 250;

/**
 * `wake`, at most once per `everyMs` per subscription, and always once more after the last call:
 * a call joins the wake that has not started yet, so every caller's delivery, queued before it
 * called, is queued before the wake it awaits is sent.
 */
export function throttled(wake: (id: string) => Promise<void>, everyMs: number): (id: string) => Promise<void> {
  const state = new Map<string, { lastAt: number; next?: Promise<void> }>();
  return (id) => {
    const s = state.get(id) ?? { lastAt: 0 };
    state.set(id, s);
    s.next ??= new Promise((resolve) => setTimeout(resolve, Math.max(0, s.lastAt + everyMs - Date.now()))).then(() => {
      s.next = undefined;
      s.lastAt = Date.now();
      return wake(id);
    });
    return s.next;
  };
}

/** Every subscription's defaults: the subscriber settings, the event retry policy, WEBHOOK_TIMEOUT. */
export function deliveryDefaults(config: Pick<Config, 'worker' | 'lifecycle' | 'subscribers'>): DeliveryDefaults {
  const { pauseAfterFailures, failureWindowMs, maxWaitMs, drainRate } = config.subscribers;
  return {
    pauseAfterFailures,
    failureWindowMs,
    maxWaitMs,
    drainRate,
    timeoutMs: config.worker.webhookTimeoutMs,
    retry: { ...config.lifecycle.retry },
  };
}

/**
 * What the worker's deliveries need of the subscribers' side: the queue, each subscription's
 * policy, and the wake of a subscriber workflow when a delivery is queued. A queued delivery
 * wakes it once per pause in this process (a pause is known by its state_since), and always for
 * the failure that made the pause; a wake that fails is asked again by the event's retry.
 */
export function subscriberWiring(connection: NativeConnection, pool: Pool, config: SubscriberConfig) {
  const dataConverter = createDataConverter(config);
  const client = new Client({ connection, namespace: config.temporal.namespace, ...(dataConverter && { dataConverter }) });
  const defaults = deliveryDefaults(config);
  const woken = new Set<string>();
  const wake = (id: string) =>
    wakeSubscriber(client, id, {
      taskQueue: config.temporal.taskQueue,
      probe: { initialMs: config.subscribers.probeInitialMs, maxMs: config.subscribers.probeMaxMs },
    });
  const policyOf = (s: Subscription) => deliveryPolicy(s.settings, defaults);
  const wakeOrdered = throttled(wake, ORDERED_WAKE_EVERY_MS);
  return {
    queue: createDeliveryQueue(pool),
    policyOf,
    async onQueued(s: Subscription, pausedNow: boolean): Promise<void> {
      // An active ordered subscription queues every delivery: its drain must hear of each.
      if (s.state === 'active' && policyOf(s).orderingKey) return wakeOrdered(s.id);
      const pause = `${s.id}@${s.state_since}`;
      if (!pausedNow && woken.has(pause)) return;
      await wake(s.id);
      if (!pausedNow) woken.add(pause);
    },
  };
}
