import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { EventStatus } from '../events/envelope.js';
import {
  discardSignal,
  type EventWorkflowInput,
  type EventWorkflowState,
  EventStatusKey,
  EventStatusSinceKey,
  reprocessSignal,
  statusQuery,
} from './definitions.js';

// Bookkeeping writes (store, transitions) are short database writes that must eventually
// succeed: they run as local activities (no round trip through the task queue, still recorded
// in history) and retry without a limit. Only processing follows the configured policy and can
// end in `failed`.
const { storeEvent, recordTransition } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * The event workflow as it was before the one-task happy path (patch `one-task`): every step a
 * round trip of its own. Runs started before that change replay through this code, so it must
 * not change; delete it once no such run can still be open (PARK_TIMEOUT after the release).
 */
export async function eventWorkflowBeforeOneTask(input: EventWorkflowInput): Promise<EventWorkflowState> {
  const { event, retry } = input;
  const { processEvent } = proxyActivities<Activities>({
    startToCloseTimeout: '5m',
    heartbeatTimeout: '1m',
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      maximumAttempts: retry.maximumAttempts,
    },
  });

  const state: EventWorkflowState = { eventId: event.event_id, status: 'pending', attempts: 0, transitions: [] };
  let operatorAction: 'reprocess' | 'discard' | undefined;
  setHandler(statusQuery, () => state);
  setHandler(reprocessSignal, () => {
    if (state.status === 'failed') operatorAction = 'reprocess';
  });
  setHandler(discardSignal, () => {
    if (state.status === 'failed') operatorAction = 'discard';
  });

  const runId = workflowInfo().runId;
  let seq = 0;
  async function transition(status: EventStatus, error?: string): Promise<void> {
    const now = new Date();
    const at = now.toISOString();
    seq += 1;
    await recordTransition({ eventId: event.event_id, runId, seq, status, attempts: state.attempts, error, at });
    upsertSearchAttributes([{ key: EventStatusKey, value: status }, { key: EventStatusSinceKey, value: now }]);
    state.status = status;
    state.lastError = error ?? state.lastError;
    state.transitions.push({ status, at, attempts: state.attempts, ...(error !== undefined && { error }) });
  }

  await storeEvent(event);
  await transition('pending');
  for (;;) {
    await transition('processing');
    try {
      const { attempt } = await processEvent(event);
      state.attempts += attempt;
      await transition('completed');
      return state;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const failure = err.cause instanceof ApplicationFailure ? err.cause : undefined;
      const attempt = (failure?.details?.[0] as { attempt?: number } | undefined)?.attempt ?? retry.maximumAttempts;
      state.attempts += attempt;
      await transition('failed', failure?.message ?? err.message);
    }

    operatorAction = undefined;
    const acted = await condition(() => operatorAction !== undefined, input.parkTimeoutMs);
    if (!acted) return state;
    if (operatorAction === 'discard') {
      await transition('discarded');
      return state;
    }
  }
}
