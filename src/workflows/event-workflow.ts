import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TemporalFailure,
  TimeoutFailure,
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
  type OperatorRequest,
  reprocessSignal,
  statusQuery,
} from './definitions.js';

// Bookkeeping writes are short database writes that must eventually succeed: local activities
// (no round trip through the task queue, still recorded in history) retried without a limit —
// except a database error no retry can fix, which the activity reports as non-retryable.
const { beginEvent, recordTransition } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Processing tries this often in the workflow task before it becomes a normal activity. */
const LOCAL_ATTEMPTS = 2;
// Below the 10 s workflow task timeout (the SDK extends a task at 80 % of it), so that
// processing that runs long leaves the task and shows as `processing` in the meantime.
const LOCAL_PROCESSING_TIMEOUT = '5s';

/** Processing's end: on success the `completed` transition is already recorded, at `at`. */
type Outcome = { ok: true; at: string } | { ok: false; error: string };
/** Processing tried: how it ended, the attempts it took, and whether no retry can change that. */
type Tried = { outcome: Outcome; attempts: number; final: boolean };

/** An activity's failure; anything else (a bug, a cancellation) ends the workflow task as it is. */
function failureOf(err: unknown): TemporalFailure {
  // A normal activity's failure comes wrapped in an ActivityFailure, a local one's as it is.
  const failure = err instanceof ActivityFailure ? err.cause : err;
  if (!(failure instanceof TemporalFailure) || failure instanceof CancelledFailure) throw err;
  return failure;
}

/** The attempt a failure of processing reports in its details; undefined for any other failure. */
const reportedAttempt = (failure: TemporalFailure) =>
  failure instanceof ApplicationFailure ? (failure.details?.[0] as { attempt?: number } | undefined)?.attempt : undefined;

/**
 * One run per event: store it, process it, and move it through
 * pending → processing → completed | failed; a failed event stays parked, waiting for an
 * operator's `reprocess` (back to processing) or `discard`, until the park timeout.
 *
 * On the happy path the whole run is one workflow task with one local activity: storing with
 * both first transitions, then processing with the `completed` transition; the search
 * attributes are upserted once, when the task ends.
 * Processing that fails or runs long falls back to a normal activity with the configured retry
 * policy. A big event comes as a reference (definitions.ts, EventReference): the activities read
 * it, the first from its stream message, the rest from PostgreSQL; the workflow never sees its data.
 */
export async function eventWorkflow(input: EventWorkflowInput): Promise<EventWorkflowState> {
  const { event, retry } = input;
  const { processAndComplete: processLocally, beginAndProcess } = proxyLocalActivities<Activities>({
    // Both attempts together: a slow subscriber moves to the normal activity after this long.
    scheduleToCloseTimeout: LOCAL_PROCESSING_TIMEOUT,
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      maximumAttempts: LOCAL_ATTEMPTS,
    },
  });

  const state: EventWorkflowState = { eventId: event.event_id, status: 'pending', attempts: 0, transitions: [] };
  type Request = { action: 'reprocess' | 'discard' } & OperatorRequest;
  let request: Request | undefined;
  setHandler(statusQuery, () => state);
  setHandler(reprocessSignal, (r) => {
    if (state.status === 'failed') request = { action: 'reprocess', ...r };
  });
  setHandler(discardSignal, (r) => {
    if (state.status === 'failed') request = { action: 'discard', ...r };
  });

  const runId = workflowInfo().runId;
  let seq = 0;
  let since = new Date();
  // A transition noted since the last upsert of EventStatus.
  let unpublished = false;

  function note(status: EventStatus, at: string, extra: { error?: string } & OperatorRequest = {}): void {
    seq += 1;
    since = new Date(at);
    unpublished = true;
    state.status = status;
    state.lastError = extra.error ?? state.lastError;
    state.transitions.push({ status, at, attempts: state.attempts, ...extra });
  }

  async function transition(status: EventStatus, extra: { error?: string } & OperatorRequest = {}): Promise<void> {
    const at = new Date().toISOString();
    await recordTransition({ eventId: event.event_id, runId, seq: seq + 1, status, attempts: state.attempts, at, ...extra });
    note(status, at, extra);
  }

  /** One upsert per workflow task: called only where the task is about to end. */
  function publishStatus(): void {
    if (!unpublished) return;
    upsertSearchAttributes([
      { key: EventStatusKey, value: state.status },
      { key: EventStatusSinceKey, value: since },
    ]);
    unpublished = false;
  }

  /**
   * Processing, and the `completed` transition with it when it succeeds; `first`, when the local
   * attempts were already made together with the run's start.
   */
  async function process(first?: Tried): Promise<Outcome> {
    const input = () => ({ event, completion: { runId, seq: seq + 1, attemptsBefore: state.attempts } });
    let failure = first ?? (await attempt(() => processLocally(input()), LOCAL_ATTEMPTS));
    if (failure.final) return failure.outcome;
    const remaining = retry.maximumAttempts - failure.attempts;
    if (remaining <= 0) return failure.outcome;
    const { processAndComplete } = proxyActivities<Activities>({
      startToCloseTimeout: '5m',
      heartbeatTimeout: '1m',
      retry: {
        initialInterval: retry.initialIntervalMs,
        backoffCoefficient: retry.backoffCoefficient,
        maximumInterval: retry.maximumIntervalMs,
        maximumAttempts: remaining,
      },
    });
    publishStatus();
    failure = await attempt(() => processAndComplete(input()), remaining);
    return failure.outcome;
  }

  async function attempt(run: () => Promise<{ attempt: number; at: string }>, budget: number): Promise<Tried> {
    try {
      return succeeded(await run());
    } catch (err) {
      return failed(err, budget);
    }
  }

  function succeeded({ attempt: used, at }: { attempt: number; at: string }): Tried {
    state.attempts += used;
    return { outcome: { ok: true, at }, attempts: used, final: true };
  }

  function failed(err: unknown, budget: number): Tried {
    const failure = failureOf(err);
    const used = reportedAttempt(failure) ?? budget;
    state.attempts += used;
    return {
      outcome: { ok: false, error: failure.message },
      attempts: used,
      final: failure instanceof ApplicationFailure && failure.nonRetryable === true,
    };
  }

  const startedAt = new Date().toISOString();
  const start = { event, runId, at: startedAt, ...(input.operator && { operator: input.operator }) };

  /** The run's start, with processing's local attempts in the same activity. */
  async function begin(): Promise<{ unstorable?: string; first?: Tried }> {
    try {
      // `completed` follows `pending` (1) and `processing` (2).
      const begun = await beginAndProcess({ ...start, completion: { runId, seq: 3, attemptsBefore: 0 } });
      return 'unstorable' in begun ? begun : { first: succeeded(begun) };
    } catch (err) {
      // Processing's failures say which attempt they were, and a timeout may be processing's;
      // anything else failed while storing, and processing's attempts are all still to come.
      const failure = failureOf(err);
      const first = failure instanceof TimeoutFailure || reportedAttempt(failure) !== undefined ? failed(err, LOCAL_ATTEMPTS) : undefined;
      // It may have failed before the event was stored: beginEvent makes sure (a repeat writes nothing).
      return { ...(await beginEvent(start)), ...(first && { first }) };
    }
  }

  const begun = await begin();
  const { unstorable } = begun;
  let first = begun.first;
  note('pending', startedAt);
  if (unstorable) note('failed', startedAt, { error: unstorable });
  else note('processing', startedAt, input.operator);

  for (;;) {
    if (state.status === 'processing') {
      const outcome: Outcome = unstorable ? { ok: false, error: unstorable } : await process(first);
      first = undefined;
      if (outcome.ok) {
        note('completed', outcome.at);
        publishStatus();
        return state;
      }
      await transition('failed', { error: outcome.error });
    }
    // Parked: failed, waiting for an operator.
    publishStatus();
    request = undefined;
    const acted = await condition(() => request !== undefined, input.parkTimeoutMs);
    // Set by a signal handler while waiting, which the compiler cannot see.
    const taken = request as Request | undefined;
    if (!acted || !taken) return state;
    const { action, ...operator } = taken;
    if (action === 'discard') {
      await transition('discarded', operator);
      publishStatus();
      return state;
    }
    await transition('processing', operator);
  }
}
