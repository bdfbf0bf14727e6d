import { condition, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  discardSignal,
  type EventWorkflowInput,
  type EventWorkflowState,
  type OperatorRequest,
  reprocessSignal,
  statusQuery,
} from './definitions.js';
import { type Begun, type Outcome, Processing, type Tried } from './processing.js';
import { StatusRecord } from './status-record.js';

/**
 * One run per event: store it, process it, and move it through
 * pending → processing → completed | failed; a failed event stays parked, waiting for an
 * operator's `reprocess` (back to processing) or `discard`, until the park timeout.
 *
 * On the happy path the whole run is one workflow task with one local activity: storing with
 * both first transitions, then processing with the `completed` transition; the search
 * attributes are upserted once, when the task ends (status-record.ts).
 * Processing that fails or runs long falls back to a normal activity with the configured retry
 * policy (processing.ts). A big event comes as a reference (definitions.ts, EventReference): the
 * activities read it, the first from its stream message, the rest from PostgreSQL; the workflow
 * never sees its data.
 */
export async function eventWorkflow(input: EventWorkflowInput): Promise<EventWorkflowState> {
  const { runId } = workflowInfo();
  const record = new StatusRecord(input.event.event_id, runId);
  const nextRequest = listenToOperators(record);
  const processing = new Processing(input, record, runId);

  const startedAt = new Date().toISOString();
  const start = { event: input.event, runId, at: startedAt, ...(input.operator && { operator: input.operator }) };
  let begun: Begun;
  try {
    // The happy path's one await, as the ceiling workflow's (docs/performance.md).
    begun = processing.begun(await processing.begin(start));
  } catch (err) {
    begun = await processing.beginFailed(err, start);
  }
  const { unstorable, first } = begun;
  record.note('pending', startedAt);
  if (unstorable) record.note('failed', startedAt, { error: unstorable });
  else record.note('processing', startedAt, input.operator);

  let tried: Tried | undefined = first;
  for (;;) {
    if (record.status === 'processing') {
      // Processing that succeeded with the run's start is final: no further call, no promise.
      const outcome: Outcome = unstorable
        ? { ok: false, error: unstorable }
        : tried?.final
          ? tried.outcome
          : await processing.process(tried);
      tried = undefined;
      if (outcome.ok) {
        record.note('completed', outcome.at);
        return closing(record);
      }
      await record.transition('failed', { error: outcome.error });
    }
    // Parked: failed, waiting for an operator.
    record.publish();
    const request = await nextRequest(input.parkTimeoutMs);
    if (!request) return record.state;
    const { action, ...operator } = request;
    if (action === 'discard') {
      await record.transition('discarded', operator);
      return closing(record);
    }
    await record.transition('processing', operator);
  }
}

/** The run's last transition published as the run closes; its state is the run's result. */
function closing(record: StatusRecord): EventWorkflowState {
  record.publish();
  return record.state;
}

type Request = { action: 'reprocess' | 'discard' } & OperatorRequest;

/**
 * Answers the status query, and takes an operator's reprocess or discard while the event is
 * parked (`failed`). Returns the wait for the next request: undefined when the park timeout
 * passed first.
 */
function listenToOperators(record: StatusRecord): (timeoutMs: number) => Promise<Request | undefined> {
  let request: Request | undefined;
  setHandler(statusQuery, () => record.state);
  setHandler(reprocessSignal, (r) => {
    if (record.status === 'failed') request = { action: 'reprocess', ...r };
  });
  setHandler(discardSignal, (r) => {
    if (record.status === 'failed') request = { action: 'discard', ...r };
  });
  // Named: it is the frame an operator reads in the parked event's stack trace (Temporal UI).
  return async function waitForOperator(timeoutMs) {
    request = undefined;
    const acted = await condition(() => request !== undefined, timeoutMs);
    return acted ? request : undefined;
  };
}
