import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createWebhookDeliverer } from '../src/activities/webhooks.js';
import { loadConfig } from '../src/config.js';
import type { EventEnvelope } from '../src/events/envelope.js';
import { subjectFor } from '../src/events/subject.js';
import { createDeliveryQueue } from '../src/store/delivery-queue.js';
import { createEventsRepo } from '../src/store/events-repo.js';
import { createPool } from '../src/store/pool.js';
import { deliveryPolicy } from '../src/store/subscription-settings.js';
import { createSubscriptionsRepo, type Subscription } from '../src/store/subscriptions-repo.js';
import { deliveryDefaults } from '../src/worker/subscribers.js';
import { stack } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

// Two executions of one event's processing can overlap: a local activity is run again when its
// workflow task times out while the first execution is still sending (seen in CI on Temporal's
// server, with two workers). Both used to check "delivered yet?" before the POST and record after
// it, so both sent. Here the two attempts are the worker's own deliverer, called twice at once
// against the real database and a real receiver.

describe('a delivery that two attempts at one event try at once', () => {
  const pool = createPool(stack().databaseUrl, 4);
  const subscriptions = createSubscriptionsRepo(pool);
  const events = createEventsRepo(pool);
  const defaults = deliveryDefaults(loadConfig());
  const created: string[] = [];
  afterAll(async () => {
    for (const id of created) await subscriptions.remove(id);
    await pool.end();
  });

  async function setUp(answerAfterMs: number, claimAtStart = false, second?: () => { status: number }) {
    const receiver = await startReceiver(() => ({ status: 200, delayMs: answerAfterMs }));
    const other = second && (await startReceiver(second));
    const eventType = `claim_${randomUUID().slice(0, 8)}`;
    const subject = subjectFor({ source: 'backend', category: 'service', eventType });
    const subs: Subscription[] = [];
    for (const r of other ? [receiver, other] : [receiver]) subs.push(await subscriptions.create({ url: r.url, subjects: [subject] }));
    created.push(...subs.map((s) => s.id));
    const sub = subs[0]!;
    const deliverer = createWebhookDeliverer({
      subscriptions: { list: async () => subs },
      deliveries: subscriptions,
      queue: createDeliveryQueue(pool),
      policyOf: (s) => deliveryPolicy(s.settings, defaults),
      allowPrivate: true,
    });
    const now = new Date().toISOString();
    const event: EventEnvelope = {
      event_id: randomUUID(),
      event_type: eventType,
      event_source: 'backend',
      event_category: 'service',
      data: {},
      metadata: {},
      timestamp: now,
      received_at: now,
    };
    // The worker's run's start claims a new event's deliveries when no processor runs before them.
    const { claimed } = await events.begin(event, 'run-1', now, {}, { claims: claimAtStart ? deliverer.claimsFor([sub]) : [] });
    // One attempt at processing the event, as the activity makes it: the deliveries, then, when
    // none failed, the `completed` transition that records those made.
    const attempt = async (claimedAtStart: ReadonlySet<string> = new Set()) => {
      const { failures, delivered } = await deliverer.deliver(event, subject, undefined, claimedAtStart);
      if (failures.length > 0) return failures;
      const at = new Date().toISOString();
      await events.recordTransition({ eventId: event.event_id, runId: 'run-1', seq: 3, status: 'completed', attempts: 1, at }, delivered);
      return [];
    };
    return { receiver, other, sub, subs, subject, event, attempt, claimed };
  }

  it('is sent once; the other attempt fails, to retry when the first has recorded it', async () => {
    const { receiver, sub, event, attempt } = await setUp(400);
    try {
      const outcomes = await Promise.all([attempt(), attempt()]);
      expect(receiver.to(event.event_id)).toHaveLength(1);
      const failed = outcomes.flat();
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ subscriptionId: sub.id, permanent: false, error: expect.stringMatching(/another attempt/) });
      // It retries no later than the claim runs out: the request's timeout and the margin.
      expect(failed[0]!.retryDelayMs).toBeGreaterThan(0);
      expect(failed[0]!.retryDelayMs).toBeLessThanOrEqual(defaults.timeoutMs + 5_100);

      // The retry finds it delivered and sends nothing.
      expect(await attempt()).toEqual([]);
      expect(receiver.to(event.event_id)).toHaveLength(1);
      expect(await subscriptions.deliveries(event.event_id)).toMatchObject([{ subscription_id: sub.id, status: 'delivered', attempts: 1 }]);
    } finally {
      await receiver.close();
    }
  });

  it("claimed by the run's start that stored the event, it is sent by that attempt alone", async () => {
    const { receiver, sub, event, attempt, claimed } = await setUp(400, true);
    try {
      expect([...claimed]).toEqual([sub.id]);
      const [first, second] = await Promise.all([attempt(claimed), attempt()]);
      expect(first).toEqual([]);
      expect(second).toMatchObject([{ subscriptionId: sub.id, permanent: false, error: expect.stringMatching(/another attempt/) }]);
      expect(receiver.to(event.event_id)).toHaveLength(1);
      expect(await attempt()).toEqual([]);
      expect(receiver.to(event.event_id)).toHaveLength(1);
      expect(await subscriptions.deliveries(event.event_id)).toMatchObject([{ status: 'delivered', attempts: 1 }]);
      // A repeat of the run's start stores nothing and claims nothing.
      expect((await events.begin(event, 'run-1', event.received_at, {}, { claims: [{ id: sub.id, leaseMs: 60_000 }] })).claimed.size).toBe(
        0,
      );
    } finally {
      await receiver.close();
    }
  });

  it('made beside a delivery that failed, it is recorded at once and not sent again by the retry', async () => {
    let failing = true;
    const { receiver, other, subs, event, attempt } = await setUp(0, false, () => ({ status: failing ? 503 : 200 }));
    try {
      expect(await attempt()).toMatchObject([{ subscriptionId: subs[1]!.id, permanent: false }]);
      const rows = await subscriptions.deliveries(event.event_id);
      expect(rows.find((d) => d.subscription_id === subs[0]!.id)).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(rows.find((d) => d.subscription_id === subs[1]!.id)).toMatchObject({ status: 'pending', attempts: 1 });

      failing = false;
      expect(await attempt()).toEqual([]);
      expect(receiver.to(event.event_id)).toHaveLength(1);
      expect(other!.to(event.event_id)).toHaveLength(2);
    } finally {
      await receiver.close();
      await other!.close();
    }
  });

  it('a sender that died holds it until its claim runs out; then the delivery is made', async () => {
    const { receiver, sub, event, attempt } = await setUp(0);
    try {
      // The claim a sender took just before it was killed -9.
      const taken = await subscriptions.claim(event.event_id, event.received_at, [{ id: sub.id, leaseMs: 600 }]);
      expect(taken.get(sub.id)).toEqual({ state: 'claimed' });

      const [held] = await attempt();
      expect(held).toMatchObject({ permanent: false, error: expect.stringMatching(/another attempt/) });
      expect(held!.retryDelayMs).toBeLessThanOrEqual(800);
      expect(receiver.to(event.event_id)).toHaveLength(0);

      await new Promise((r) => setTimeout(r, held!.retryDelayMs));
      expect(await attempt()).toEqual([]);
      expect(receiver.to(event.event_id)).toHaveLength(1);
      expect(await subscriptions.deliveries(event.event_id)).toMatchObject([{ status: 'delivered', attempts: 1 }]);
    } finally {
      await receiver.close();
    }
  });
});
