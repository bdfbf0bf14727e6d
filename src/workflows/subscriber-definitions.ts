import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { SubscriptionState } from '../store/subscription-settings.js';

// The subscriber workflow (one per subscription while it is unhealthy or has deliveries
// waiting; id `subscriber-<subscription id>`): its signal, query, search attributes and input.

export const SUBSCRIBER_WORKFLOW_TYPE = 'subscriberWorkflow';
export const subscriberWorkflowId = (subscriptionId: string) => `subscriber-${subscriptionId}`;

/** `active`, `paused` or `disabled`: find paused subscribers in the Temporal UI with `SubscriberState = "paused"`. */
export const SubscriberStateKey = defineSearchAttributeKey('SubscriberState', SearchAttributeType.KEYWORD);
/** Deliveries waiting for the subscriber, as last counted: `SubscriberWaiting > 0`. */
export const SubscriberWaitingKey = defineSearchAttributeKey('SubscriberWaiting', SearchAttributeType.INT);

export interface SubscriberWorkflowInput {
  subscriptionId: string;
  /** A paused subscriber is probed this long after the pause, then at doubling intervals up to `probeMaxMs`. */
  probeInitialMs: number;
  probeMaxMs: number;
}

/** The subscription as the workflow last read it. */
export interface SubscriberView {
  exists: boolean;
  state: SubscriptionState;
  /** Who set the state: only a pause the service made is probed and lifted by the service. */
  by: 'service' | 'operator';
  waiting: number;
  /** Waiting deliveries that passed the maximum wait on this read and were ended `expired`. */
  expired: number;
  /**
   * When to read again to expire the oldest waiting delivery, from now: a little after it is due
   * (1 % of the maximum wait, at least a second), so that one read expires a batch. Absent when none waits.
   */
  nextExpiryCheckMs?: number;
}

export interface DrainPass {
  sent: number;
  /** Attempts that failed and left their delivery waiting (or failed it for good). */
  failed: number;
  /** The subscriber is paused again (or was disabled): the pass stopped. */
  stopped: boolean;
  /** How long to wait before the next pass: deliveries failed and wait for their retry. */
  pauseMs: number;
}

/** Something changed: a pause, a resume, a disable, a resend or a replay queued deliveries. */
export const subscriberWakeSignal = defineSignal('wake');
export const subscriberQuery = defineQuery<SubscriberView | undefined>('subscriber');
