import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  proxyActivities,
  proxyLocalActivities,
  TemporalFailure,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { Activities, BeginArgs, BeginResult, Processed } from '../activities/index.js';
import type { EventWorkflowInput } from './definitions.js';
import { beginEvent, type StatusRecord } from './status-record.js';

/** Processing tries this often in the workflow task before it becomes a normal activity. */
const LOCAL_ATTEMPTS = 2;
// Below the 10 s workflow task timeout (the SDK extends a task at 80 % of it), so that
// processing that runs long leaves the task and shows as `processing` in the meantime.
const LOCAL_PROCESSING_TIMEOUT = '5s';

/** Processing's end: on success the `completed` transition is already recorded, at `at`. */
export type Outcome = { ok: true; at: string } | { ok: false; error: string };
/** Processing tried: how it ended, the attempts it took, and whether no retry can change that. */
export type Tried = { outcome: Outcome; attempts: number; final: boolean };
/** The run's start: `unstorable` when the event is kept without its data, `first` when processing was tried with it. */
export type Begun = BeginResult & { first?: Tried };

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
 * Processing's attempts, counted into the event's state: first locally, in the workflow task
 * (with the run's start, or alone after an operator's reprocess), then, when they failed with a
 * retryable error or ran long, as a normal activity with what is left of the retry budget.
 */
export class Processing {
  private readonly local;

  constructor(
    private readonly input: EventWorkflowInput,
    private readonly record: StatusRecord,
    private readonly runId: string,
  ) {
    this.local = proxyLocalActivities<Activities>({
      // Both attempts together: a slow subscriber moves to the normal activity after this long.
      scheduleToCloseTimeout: LOCAL_PROCESSING_TIMEOUT,
      retry: { ...this.retryPolicy(), maximumAttempts: LOCAL_ATTEMPTS },
    });
  }

  /**
   * The run's start (the event stored, `pending` and `processing` recorded) with the local
   * attempts in the same activity. Not async: on the happy path the workflow awaits the activity
   * itself, and its one await is all the sandbox pays for (every promise a workflow makes costs a
   * stack capture in the SDK's promise hook: docs/performance.md). `begun` reads its result.
   */
  begin(start: BeginArgs): Promise<BeginResult | Processed> {
    // `completed` follows `pending` (1) and `processing` (2).
    return this.local.beginAndProcess({ ...start, completion: { runId: this.runId, seq: 3, attemptsBefore: 0 } });
  }

  /** What the run's start returned: the event kept without its data, or processing's first success. */
  begun(result: BeginResult | Processed): Begun {
    return 'attempt' in result ? { first: this.succeeded(result) } : result;
  }

  /** The run's start failed: what it left (its failure may be processing's, after the event was stored). */
  async beginFailed(err: unknown, start: BeginArgs): Promise<Begun> {
    // Processing's failures say which attempt they were, and a timeout may be processing's;
    // anything else failed while storing, and processing's attempts are all still to come.
    const failure = failureOf(err);
    const first =
      failure instanceof TimeoutFailure || reportedAttempt(failure) !== undefined ? this.failed(err, LOCAL_ATTEMPTS) : undefined;
    // It may have failed before the event was stored: beginEvent makes sure (a repeat writes nothing).
    return { ...(await beginEvent(start)), ...(first && { first }) };
  }

  /** Processing, and the `completed` transition with it when it succeeds; `first`: the local attempts begin() made. */
  async process(first?: Tried): Promise<Outcome> {
    let tried = first ?? (await this.attempt(() => this.local.processAndComplete(this.completionArgs()), LOCAL_ATTEMPTS));
    if (tried.final) return tried.outcome;
    const remaining = this.input.retry.maximumAttempts - tried.attempts;
    if (remaining <= 0) return tried.outcome;
    const { processAndComplete } = proxyActivities<Activities>({
      startToCloseTimeout: '5m',
      heartbeatTimeout: '1m',
      retry: { ...this.retryPolicy(), maximumAttempts: remaining },
    });
    // The task ends here: operators see `processing` while the normal activity runs.
    this.record.publish();
    tried = await this.attempt(() => processAndComplete(this.completionArgs()), remaining);
    return tried.outcome;
  }

  private retryPolicy() {
    const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = this.input.retry;
    return { initialInterval: initialIntervalMs, backoffCoefficient, maximumInterval: maximumIntervalMs };
  }

  private completionArgs() {
    return {
      event: this.input.event,
      completion: { runId: this.runId, seq: this.record.seq + 1, attemptsBefore: this.record.state.attempts },
    };
  }

  private async attempt(run: () => Promise<{ attempt: number; at: string }>, budget: number): Promise<Tried> {
    try {
      return this.succeeded(await run());
    } catch (err) {
      return this.failed(err, budget);
    }
  }

  private succeeded({ attempt: used, at }: { attempt: number; at: string }): Tried {
    this.record.state.attempts += used;
    return { outcome: { ok: true, at }, attempts: used, final: true };
  }

  private failed(err: unknown, budget: number): Tried {
    const failure = failureOf(err);
    const used = reportedAttempt(failure) ?? budget;
    this.record.state.attempts += used;
    const final = failure instanceof ApplicationFailure && failure.nonRetryable === true;
    return { outcome: { ok: false, error: failure.message }, attempts: used, final };
  }
}
