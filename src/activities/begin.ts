import { ApplicationFailure, log } from '@temporalio/activity';
import type { EventEnvelope } from '../events/envelope.js';
import type { ClaimWanted } from '../store/delivery-sql.js';
import { isPermanentDbError } from '../store/pg-errors.js';
import { type EventReference, isEventReference } from '../workflows/definitions.js';
import type { BeginArgs } from './activity-types.js';
import type { ActivityDeps } from './deps.js';
import { envelopeOf, permanentFailsFast } from './stored-event.js';

type BeginDeps = Pick<ActivityDeps, 'repo' | 'loadMessage' | 'onSettled' | 'metrics'>;

/**
 * The start of a run in one round trip: the event stored once, `pending` and `processing`
 * recorded. An event PostgreSQL can never hold is kept without its data, as `failed`; so is a
 * referenced event whose stream message is gone before it was ever stored.
 */
export function createBegin({ repo, loadMessage, onSettled, metrics }: BeginDeps) {
  /**
   * A referenced event as the run's start needs it: from its stream message (the bridge started
   * the run), else from PostgreSQL (a reprocess of a closed event, or the message gone after it
   * was stored). Undefined when neither holds it. NATS or PostgreSQL unreachable: an error, retried.
   */
  async function resolve(ref: EventReference): Promise<EventEnvelope | undefined> {
    if (ref.reference.message) {
      if (!loadMessage)
        throw ApplicationFailure.retryable('this worker has no stream connection to read the event from', 'NoStreamConnection');
      const loaded = await loadMessage(ref);
      if (loaded) return loaded;
    }
    const stored = await repo.get(ref.event_id);
    return stored && envelopeOf(stored);
  }

  async function unstorable(event: EventEnvelope, runId: string, at: string, reason: string, why: Record<string, unknown>) {
    await permanentFailsFast(() => repo.insertUnstorable(event, runId, at, reason));
    log.warn('event cannot be stored; kept without its data as failed', { eventId: event.event_id, ...why });
    onSettled?.(event.event_id);
    metrics?.settled('failed');
    return { unstorable: reason };
  }

  /**
   * `completed`: nothing to process, the run's `completed` transition is recorded with its start.
   * `claims`: deliveries to claim if this call stores the event; `claimed` says which it took.
   */
  return async function begin(
    { event: given, runId, at, operator }: BeginArgs,
    { completed = false, claims = [] }: { completed?: boolean; claims?: readonly ClaimWanted[] } = {},
  ): Promise<{ event: EventEnvelope; claimed: ReadonlySet<string> } | { unstorable: string }> {
    const event = isEventReference(given) ? await resolve(given) : given;
    if (!event) {
      const ref = given as EventReference;
      const where = ref.reference.message
        ? `message ${ref.reference.message.seq} of stream ${ref.reference.message.stream}`
        : 'its stream message';
      const reason = `the event (${ref.reference.bytes} bytes) was never stored and ${where} is gone`;
      return unstorable(referencedEnvelope(ref), runId, at, reason, { messageGone: true });
    }
    try {
      const { claimed } = await repo.begin(event, runId, at, operator, { completed, claims });
      return { event, claimed };
    } catch (err) {
      if (!isPermanentDbError(err)) throw err;
      const reason = `the database cannot store this event: ${err.message} (SQLSTATE ${err.code})`;
      return unstorable(event, runId, at, reason, { sqlstate: err.code });
    }
  };
}

/** What a reference says of its event, as an envelope without data: for the row of an event that was never stored. */
function referencedEnvelope({ reference, ...fields }: EventReference): EventEnvelope {
  void reference;
  return { ...fields, data: {}, metadata: {} };
}
