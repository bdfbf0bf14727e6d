import { proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { EventStatus } from '../events/envelope.js';
import { type EventWorkflowState, EventStatusKey, EventStatusSinceKey, type OperatorRequest } from './definitions.js';

// Bookkeeping writes are short database writes that must eventually succeed: local activities
// (no round trip through the task queue, still recorded in history) retried without a limit —
// except a database error no retry can fix, which the activity reports as non-retryable.
export const { beginEvent, recordTransition } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export type TransitionExtra = { error?: string } & OperatorRequest;

/**
 * The event's status as the run keeps it: the state its query answers, the sequence of its
 * transitions (as PostgreSQL records them), and the search attributes operators find it by.
 */
export class StatusRecord {
  readonly state: EventWorkflowState;
  /** Transitions noted so far; the next one is number seq + 1. */
  seq = 0;
  private since = new Date();
  /** A transition noted since the last upsert of EventStatus. */
  private unpublished = false;

  constructor(
    eventId: string,
    private readonly runId: string,
  ) {
    this.state = { eventId, status: 'pending', attempts: 0, transitions: [] };
  }

  get status(): EventStatus {
    return this.state.status;
  }

  /** A transition an activity already recorded (or that needs no record of its own). */
  note(status: EventStatus, at: string, extra: TransitionExtra = {}): void {
    this.seq += 1;
    this.since = new Date(at);
    this.unpublished = true;
    this.state.status = status;
    this.state.lastError = extra.error ?? this.state.lastError;
    this.state.transitions.push({ status, at, attempts: this.state.attempts, ...extra });
  }

  /** Records a transition in PostgreSQL, then notes it. */
  async transition(status: EventStatus, extra: TransitionExtra = {}): Promise<void> {
    const at = new Date().toISOString();
    const { eventId, attempts } = this.state;
    await recordTransition({ eventId, runId: this.runId, seq: this.seq + 1, status, attempts, at, ...extra });
    this.note(status, at, extra);
  }

  /** Upserts the search attributes, once per workflow task: called only where the task is about to end. */
  publish(): void {
    if (!this.unpublished) return;
    upsertSearchAttributes([
      { key: EventStatusKey, value: this.state.status },
      { key: EventStatusSinceKey, value: this.since },
    ]);
    this.unpublished = false;
  }
}
