import type { EventEnvelope } from '../events/envelope.js';
import type { EventReference, OperatorRequest } from '../workflows/definitions.js';

// What the workflow hands its activities and gets back: plain data, shared by the workflow's
// `import type` and the activities.

/** Where the `completed` transition goes if processing succeeds. */
export interface CompletionRecord {
  runId: string;
  seq: number;
  /** Attempts spent before this activity, by earlier runs of processing in this run. */
  attemptsBefore: number;
}

/** A run's start: the event, and the time of its `pending` and `processing` transitions. */
export interface BeginArgs {
  /** The event, or for a big one a reference: read from its stream message, or from PostgreSQL once stored. */
  event: EventEnvelope | EventReference;
  runId: string;
  at: string;
  operator?: OperatorRequest;
}

export interface BeginResult {
  /** Set when PostgreSQL refused the event as sent: it is stored without its data, `failed`. */
  unstorable?: string;
}

/** Processing that succeeded: the attempt it took, and the time of the `completed` transition. */
export interface Processed {
  attempt: number;
  at: string;
}
