import { Context } from '@temporalio/activity';
import { subjectFor } from '../events/subject.js';
import type { DeliveryQueue, WaitingDelivery } from '../store/delivery-queue.js';
import type { EventsRepo } from '../store/events-repo.js';
import { type DeliveryPolicy, retryDelayMs } from '../store/subscription-settings.js';
import type { Subscription, SubscriptionsRepo } from '../store/subscriptions-repo.js';
import type { DrainPass, SubscriberView } from '../workflows/subscriber-definitions.js';
import { envelopeOf } from './stored-event.js';
import type { WebhookDeliverer } from './webhooks.js';

// The subscriber workflow's activities: read the subscription (expiring what waited too long),
// drain its waiting deliveries oldest first at its rate, and probe a paused one with its oldest.

const HEARTBEAT_EVERY_MS = 5_000;
/** A drain pass sends about this long's worth of deliveries, then reports to the workflow. */
const PASS_SECONDS = 30;
/**
 * An ordered subscription's delivery is sent once its event was received at least this long
 * ago: an event of the same key received a moment before it may still be on its way into the
 * queue (processing runs events concurrently). The price of order is this much latency.
 */
export const ORDER_SETTLE_MS = 1_000;

export interface SubscriberActivityDeps {
  subscriptions: Pick<SubscriptionsRepo, 'get' | 'setState'>;
  queue: DeliveryQueue;
  events: Pick<EventsRepo, 'get'>;
  webhooks: Pick<WebhookDeliverer, 'send'>;
  policyOf: (s: Subscription) => DeliveryPolicy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How often an ordered pass looks for new deliveries while some wait (held, or too recent). */
const ORDERED_POLL_MS = 250;

type Sent = { delivered: boolean; stop: boolean };
type Send = (d: WaitingDelivery) => Promise<Sent>;

/** `send`, spaced so that at most `perSecond` start per second. */
function paced(perSecond: number, send: Send): Send {
  const gapMs = 1000 / perSecond;
  let next = performance.now();
  return async (d) => {
    await sleep(Math.max(0, next - performance.now()));
    next = performance.now() + gapMs;
    return send(d);
  };
}

export function createSubscriberActivities({ subscriptions, queue, events, webhooks, policyOf }: SubscriberActivityDeps) {
  /** Sends one waiting delivery and records what happened; `stop` when the subscriber is no longer active after it. */
  async function sendWaiting(s: Subscription, policy: DeliveryPolicy, d: WaitingDelivery): Promise<Sent> {
    const stored = await events.get(d.event_id);
    if (!stored) {
      await queue.settleWaiting(d.event_id, s.id, { status: 'failed', error: 'the event is no longer stored' });
      return { delivered: false, stop: false };
    }
    const event = envelopeOf(stored);
    const subject = subjectFor({ source: event.event_source, category: event.event_category, eventType: event.event_type });
    const outcome = await webhooks.send(s, event, subject, policy.timeoutMs, Context.current().cancellationSignal);
    if (outcome.status === 'delivered' || outcome.permanent) {
      await queue.settleWaiting(d.event_id, s.id, outcome);
      return { delivered: outcome.status === 'delivered', stop: false };
    }
    const recorded = await queue.recordFailure(
      { eventId: d.event_id, subscriptionId: s.id, receivedAt: event.received_at, outcome, fromQueue: true },
      { pauseAfterFailures: policy.pauseAfterFailures, failureWindowMs: policy.failureWindowMs, maxAttempts: policy.retry.maximumAttempts },
    );
    return { delivered: false, stop: recorded.notActive };
  }

  /**
   * An ordered subscription's pass: the head of each key, again and again (sending one makes the
   * next its key's head), for PASS_SECONDS or until nothing waits. A key whose head fails is held
   * until its retry delay has passed: only that key waits, the others keep flowing; new
   * deliveries queued meanwhile are picked up within a poll.
   */
  async function orderedPass(s: Subscription, policy: DeliveryPolicy, size: number, send: Send): Promise<DrainPass> {
    const pass = { sent: 0, failed: 0, stopped: false, pauseMs: 0 };
    const heldUntil = new Map<string, number>();
    const until = performance.now() + PASS_SECONDS * 1000;
    while (performance.now() < until) {
      for (const [key, at] of heldUntil) if (at <= performance.now()) heldUntil.delete(key);
      const batch = await queue.keyHeads(s.id, size, [...heldUntil.keys()], ORDER_SETTLE_MS);
      if (batch.length === 0) {
        if ((await queue.waitingCount(s.id)) === 0) break;
        await sleep(ORDERED_POLL_MS);
        continue;
      }
      for (const d of batch) {
        const { delivered, stop } = await send(d);
        if (delivered) pass.sent++;
        else {
          pass.failed++;
          heldUntil.set(d.ordering_key ?? '', performance.now() + retryDelayMs(policy, d.attempts + 1));
        }
        if (stop) return { ...pass, stopped: true };
      }
    }
    return pass;
  }

  /** Runs `work` heartbeating, so that a crashed worker's pass is retried elsewhere within the heartbeat timeout. */
  async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await work();
    } finally {
      clearInterval(beat);
    }
  }

  return {
    async subscriberStatus(subscriptionId: string): Promise<SubscriberView> {
      const s = await subscriptions.get(subscriptionId);
      if (!s) return { exists: false, state: 'disabled', by: 'operator', waiting: 0, expired: 0 };
      const { maxWaitMs } = policyOf(s);
      const expired = await queue.expire(s.id, maxWaitMs);
      const { count, nextExpiryMs } = await queue.waiting(s.id, maxWaitMs);
      const slackMs = Math.max(1_000, maxWaitMs / 100);
      return {
        exists: true,
        state: s.state,
        by: s.state_by,
        waiting: count,
        expired,
        ...(nextExpiryMs !== undefined && { nextExpiryCheckMs: Math.round(nextExpiryMs + slackMs) }),
      };
    },

    /**
     * One pass of the drain: the oldest waiting deliveries, one at a time (so in order), paced at
     * the subscription's rate, for about PASS_SECONDS. Stops early when a failure pauses the
     * subscriber again. An ordered subscription is drained by keys (orderedPass).
     */
    async drainWaiting(subscriptionId: string): Promise<DrainPass> {
      const s = await subscriptions.get(subscriptionId);
      if (!s || s.state !== 'active') return { sent: 0, failed: 0, stopped: true, pauseMs: 0 };
      const policy = policyOf(s);
      const size = Math.max(1, Math.min(1000, Math.ceil(policy.drainRate * PASS_SECONDS)));
      const send = paced(policy.drainRate, (d) => sendWaiting(s, policy, d));
      if (policy.orderingKey !== undefined) return heartbeating(() => orderedPass(s, policy, size, send));
      return heartbeating(async () => {
        const pass = { sent: 0, failed: 0, stopped: false, pauseMs: 0 };
        for (const d of await queue.oldestWaiting(s.id, size)) {
          const { delivered, stop } = await send(d);
          if (delivered) pass.sent++;
          else pass.failed++;
          if (stop) return { ...pass, stopped: true };
        }
        // What failed stays waiting, retried by the next pass after the subscription's first retry delay.
        return { ...pass, pauseMs: pass.failed > 0 ? retryDelayMs(policy, 1) : 0 };
      });
    },

    /**
     * A paused subscriber's probe: its oldest waiting delivery, sent again. Delivered, the
     * subscriber resumes (only from a pause the service made: an operator's stays); failed, it
     * stays paused and the probe backs off. With nothing waiting there is nothing to lose: resumed.
     */
    async probeSubscriber(subscriptionId: string): Promise<'resumed' | 'still failing' | 'not paused'> {
      const s = await subscriptions.get(subscriptionId);
      if (!s || s.state !== 'paused' || s.state_by !== 'service') return 'not paused';
      const [oldest] = await queue.oldestWaiting(s.id, 1);
      if (oldest && !(await heartbeating(() => sendWaiting(s, policyOf(s), oldest))).delivered) return 'still failing';
      const resumed = await subscriptions.setState(
        s.id,
        { state: 'active', reason: oldest ? 'resumed: a probe was delivered' : 'resumed: nothing was waiting', by: 'service' },
        { state: 'paused', by: 'service' },
      );
      return resumed ? 'resumed' : 'not paused';
    },
  };
}

export type SubscriberActivities = ReturnType<typeof createSubscriberActivities>;
