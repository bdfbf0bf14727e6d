import { condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SubscriberActivities } from '../activities/subscriber-activities.js';
import {
  SubscriberStateKey,
  type SubscriberView,
  subscriberQuery,
  subscriberWakeSignal,
  SubscriberWaitingKey,
  type SubscriberWorkflowInput,
} from './subscriber-definitions.js';

const { subscriberStatus, probeSubscriber } = proxyActivities<SubscriberActivities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
// A pass sends about 30 s of deliveries and heartbeats every 5 s: a worker killed mid-pass has
// its pass retried on another within 20 s, starting again from the oldest still waiting.
const { drainWaiting } = proxyActivities<SubscriberActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * A waiting subscriber is read at least this often: its SubscriberWaiting search attribute stays
 * at most this old (the API's count is live), and its expired deliveries are ended.
 */
const READ_EVERY_MS = 60_000;

/** How long the workflow may sleep before it reads again: the refresh, or the oldest waiting delivery's expiry. */
const untilNextRead = (view: SubscriberView) => Math.min(READ_EVERY_MS, view.nextExpiryCheckMs ?? READ_EVERY_MS);
/** Rounds before the run continues as new (some 8 hours of minute reads), so its history stays short however long it waits. */
const ROUNDS_PER_RUN = 500;

/**
 * One per subscription while it needs one (id `subscriber-<id>`): started by the pause, or by an
 * operator's action, a resend or a replay; woken by the `wake` signal. Each round reads the
 * subscription and acts on its state:
 *  - active: drains the waiting deliveries, oldest first at the subscription's rate, and ends
 *    once none is left;
 *  - paused by the service: probes with the oldest waiting delivery, at a doubling interval; a
 *    delivered probe resumes it;
 *  - paused by an operator, or disabled: waits for the next change.
 * Waiting deliveries older than the subscription's maximum wait are expired on every read.
 */
export async function subscriberWorkflow(input: SubscriberWorkflowInput): Promise<void> {
  let woken = false;
  let view: SubscriberView | undefined;
  setHandler(subscriberWakeSignal, () => void (woken = true));
  setHandler(subscriberQuery, () => view);
  const waitForWake = (ms: number) => condition(() => woken, ms);
  const publish = publisher();
  let probeDelay = input.probeInitialMs;
  // The next probe's time (workflow time): expiry reads in between do not put it off.
  let probeAt: number | undefined;

  for (let round = 0; round < ROUNDS_PER_RUN && !workflowInfo().continueAsNewSuggested; round++) {
    woken = false;
    view = await subscriberStatus(input.subscriptionId);
    publish(view);
    if (!view.exists) return;
    if (view.state === 'active') {
      probeDelay = input.probeInitialMs;
      probeAt = undefined;
      // Ends only when nothing waits and no wake came in meanwhile (a replay just queued more).
      if (view.waiting === 0) {
        if (woken) continue;
        return;
      }
      const pass = await drainWaiting(input.subscriptionId);
      // Deliveries that failed stay waiting: the next pass tries them again after their retry delay.
      if (!pass.stopped && pass.pauseMs > 0) await waitForWake(pass.pauseMs);
    } else if (view.state === 'paused' && view.by === 'service') {
      probeAt ??= Date.now() + probeDelay;
      if (await waitForWake(Math.max(1, Math.min(probeAt - Date.now(), untilNextRead(view))))) continue;
      if (Date.now() < probeAt) continue;
      const probed = await probeSubscriber(input.subscriptionId);
      probeDelay = probed === 'still failing' ? Math.min(probeDelay * 2, input.probeMaxMs) : input.probeInitialMs;
      probeAt = undefined;
    } else {
      await waitForWake(untilNextRead(view));
    }
  }
  await continueAsNew<typeof subscriberWorkflow>(input);
}

/** The search attributes operators find it by, upserted when they change. */
function publisher(): (view: SubscriberView) => void {
  let published: string | undefined;
  return (view) => {
    const key = `${view.state}/${view.waiting}`;
    if (!view.exists || key === published) return;
    published = key;
    upsertSearchAttributes([
      { key: SubscriberStateKey, value: view.state },
      { key: SubscriberWaitingKey, value: view.waiting },
    ]);
  };
}
