import type { EventEnvelope } from '../events/envelope.js';
import type { DeliveryQueue } from '../store/delivery-queue.js';
import { type DeliveryPolicy, orderingValue, retryDelayMs } from '../store/subscription-settings.js';
import type { Delivered } from '../store/delivery-sql.js';
import type { DeliveryOutcome, Subscription, SubscriptionsRepo } from '../store/subscriptions-repo.js';

// One (event, subscriber) delivery as the event's processing makes it, with the subscriber's
// health in the decision: to a paused subscriber it waits in the queue (handed over: it neither
// spends the event's attempts nor fails it); a failure worth retrying counts into the
// subscriber's run of failures, and the one that pauses it, and every one after, waits too.

export type SentOutcome = DeliveryOutcome & { permanent?: boolean };

export interface DeliveryFailure {
  subscriptionId: string;
  url: string;
  error: string;
  /** The subscriber refused the event (a 4xx other than 408/429), or its attempts are spent: retrying will not help. */
  permanent: boolean;
  /** Set when the subscription has a retry schedule of its own: the delay before its next attempt. */
  retryDelayMs?: number;
}

/**
 * How one delivery ended for this attempt: made (not recorded yet: the caller records it, with the
 * event's completion when it can), failed, or handed over to the subscriber's queue (or skipped,
 * the subscriber disabled).
 */
export type DeliveryResult = { delivered: Delivered } | { failure: DeliveryFailure } | { handedOver: true };

export interface SubscriberDeliveryDeps {
  deliveries: Pick<SubscriptionsRepo, 'recordRefused'>;
  queue: Pick<DeliveryQueue, 'queue' | 'recordFailure'>;
  policyOf: (s: Subscription) => DeliveryPolicy;
  /**
   * Told when a delivery was queued for a paused subscriber: makes sure its subscriber workflow
   * runs (`pausedNow`: this very failure paused it). A failure to do so fails the attempt, so the
   * event's retry asks again.
   */
  onQueued?: (s: Subscription, pausedNow: boolean) => Promise<void>;
}

export function createSubscriberDelivery({ deliveries, queue, policyOf, onQueued }: SubscriberDeliveryDeps) {
  return async function deliverTo(
    s: Subscription,
    event: EventEnvelope,
    send: (s: Subscription, timeoutMs: number) => Promise<SentOutcome>,
  ): Promise<DeliveryResult> {
    // The cached state may be a moment old: the queue checks it against the row and says no
    // (undefined) when the subscriber is active again, and the delivery is made now. An ordered
    // subscription's deliveries are always queued: its drain sends each key in order.
    const policy = policyOf(s);
    if (s.state !== 'active' || policy.orderingKey) {
      const key = policy.orderingKey && orderingValue(event, policy.orderingKey);
      const queued = await queue.queue(event.event_id, s.id, event.received_at, key);
      if (queued === 'waiting') await onQueued?.(s, false);
      if (queued) return { handedOver: true };
    }
    const outcome = await send(s, policy.timeoutMs);
    if (outcome.status === 'delivered') {
      return { delivered: { subscriptionId: s.id, responseCode: outcome.responseCode, latencyMs: outcome.latencyMs } };
    }
    if (outcome.permanent) {
      await deliveries.recordRefused(event.event_id, s.id, outcome, event.received_at);
      return { failure: failure(s, outcome, true) };
    }
    const recorded = await queue.recordFailure(
      { eventId: event.event_id, subscriptionId: s.id, receivedAt: event.received_at, outcome },
      {
        pauseAfterFailures: policy.pauseAfterFailures,
        failureWindowMs: policy.failureWindowMs,
        // Without a schedule of its own the event's retry budget decides, as it always did.
        maxAttempts: policy.ownRetry ? policy.retry.maximumAttempts : Number.MAX_SAFE_INTEGER,
      },
    );
    if (recorded.status === 'waiting') {
      await onQueued?.(s, recorded.pausedNow);
      return { handedOver: true };
    }
    const permanent = recorded.status === 'failed';
    return {
      failure: {
        ...failure(s, outcome, permanent),
        ...(policy.ownRetry && !permanent && { retryDelayMs: retryDelayMs(policy, recorded.attempts) }),
      },
    };
  };
}

function failure(s: Subscription, outcome: SentOutcome, permanent: boolean): DeliveryFailure {
  return { subscriptionId: s.id, url: s.url, error: outcome.error ?? 'not delivered', permanent };
}
