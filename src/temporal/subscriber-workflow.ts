import type { Client } from '@temporalio/client';
import {
  SUBSCRIBER_WORKFLOW_TYPE,
  subscriberWakeSignal,
  subscriberWorkflowId,
  type SubscriberWorkflowInput,
} from '../workflows/subscriber-definitions.js';

export interface SubscriberWakeOptions {
  taskQueue: string;
  probe: { initialMs: number; maxMs: number };
}

/**
 * Wakes the subscription's subscriber workflow, starting it if none runs (signal-with-start, so
 * at most one per subscription): after a pause, an operator's action, a resend or a replay.
 */
export async function wakeSubscriber(client: Client, subscriptionId: string, o: SubscriberWakeOptions): Promise<void> {
  const input: SubscriberWorkflowInput = { subscriptionId, probeInitialMs: o.probe.initialMs, probeMaxMs: o.probe.maxMs };
  await client.workflow.signalWithStart(SUBSCRIBER_WORKFLOW_TYPE, {
    workflowId: subscriberWorkflowId(subscriptionId),
    taskQueue: o.taskQueue,
    args: [input],
    signal: subscriberWakeSignal,
    signalArgs: [],
  });
}
