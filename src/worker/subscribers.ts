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
  return {
    queue: createDeliveryQueue(pool),
    policyOf: (s: Subscription) => deliveryPolicy(s.settings, defaults),
    async onQueued(s: Subscription, pausedNow: boolean): Promise<void> {
      const pause = `${s.id}@${s.state_since}`;
      if (!pausedNow && woken.has(pause)) return;
      await wake(s.id);
      if (!pausedNow) woken.add(pause);
    },
  };
}
