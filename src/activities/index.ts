import { ApplicationFailure, Context } from '@temporalio/activity';
import { type EventEnvelope, SETTLED_STATUSES } from '../events/envelope.js';
import type { Delivered } from '../store/delivery-sql.js';
import type { Transition } from '../store/events-repo.js';
import { activeTraceId } from '../telemetry/tracing.js';
import { type EventReference, isEventReference } from '../workflows/definitions.js';
import { createBegin } from './begin.js';
import type { ActivityDeps } from './deps.js';
import { createProcessEvent, createWorkFor } from './process-event.js';
import type { BeginArgs, BeginResult, CompletionRecord, Processed } from './activity-types.js';
import { envelopeOf, permanentFailsFast } from './stored-event.js';

export type { BeginArgs, BeginResult, CompletionRecord, Processed } from './activity-types.js';

export type { ActivityDeps } from './deps.js';

/**
 * The activities the event workflow calls: the run's start (begin.ts), processing (process-event.ts)
 * with its `completed` transition, and the other transitions.
 */
export function createActivities(deps: ActivityDeps) {
  const { repo, onSettled, metrics, log: eventLog, webhooks } = deps;
  const begin = createBegin(deps);
  const processEvent = createProcessEvent(deps);
  const workFor = createWorkFor(deps);

  /** A stored event; after the run's start, a referenced event is always stored (or kept without its data). */
  async function storedEvent(event: EventEnvelope | EventReference): Promise<EventEnvelope> {
    if (!isEventReference(event)) return event;
    const stored = await repo.get(event.event_id);
    if (!stored) throw ApplicationFailure.nonRetryable(`event ${event.event_id} is no longer stored`, 'EventNotStored');
    return envelopeOf(stored);
  }

  /** `delivered`: deliveries made by the processing that ends here, recorded by the same statement. */
  async function recordTransition(t: Transition, delivered?: readonly Delivered[]): Promise<void> {
    await permanentFailsFast(() => repo.recordTransition(t, delivered));
    if (SETTLED_STATUSES.includes(t.status)) {
      onSettled?.(t.eventId);
      metrics?.settled(t.status);
    }
  }

  function logProcessed(event: EventEnvelope, status: 'completed' | 'failed', started: number, error?: string): void {
    const traceId = activeTraceId();
    const fields = {
      event_id: event.event_id,
      event_type: event.event_type,
      ...(event.user_id !== undefined && { user_id: event.user_id }),
      status,
      processing_time_ms: Math.round((performance.now() - started) * 10) / 10,
      ...(traceId && { trace_id: traceId }),
      ...(error && { error }),
    };
    if (status === 'completed') eventLog?.info(fields, 'event processed');
    else eventLog?.warn(fields, 'event processing attempt failed');
  }

  async function beginEvent(start: BeginArgs): Promise<BeginResult> {
    const begun = await begin(start);
    return 'unstorable' in begun ? { unstorable: begun.unstorable } : {};
  }

  /**
   * Processing and, when it succeeds, the `completed` transition, in one activity: one round
   * trip less on the happy path; the deliveries it made are recorded by that transition's statement.
   * Returns the attempt that succeeded and the transition's time. `claimed`: the deliveries the run's
   * start claimed for this attempt.
   */
  async function processAndComplete(
    { event: given, completion }: { event: EventEnvelope | EventReference; completion: CompletionRecord },
    claimed: ReadonlySet<string> = new Set(),
  ): Promise<Processed> {
    const { info } = Context.current();
    // A retry, or the normal activity after the local one: an earlier attempt may have finished
    // and written `completed` without the workflow hearing of it. Then it is done.
    if (info.attempt > 1 || !info.isLocal) {
      const earlier = await repo.recorded(given.event_id, completion.runId, completion.seq);
      if (earlier?.status === 'completed') return { attempt: info.attempt, at: earlier.at };
    }
    const event = await storedEvent(given);
    const started = performance.now();
    let attempt: number;
    let delivered: Delivered[];
    try {
      ({ attempt, delivered } = await processEvent(event, claimed));
    } catch (err) {
      metrics?.processed(false, (performance.now() - started) / 1000);
      logProcessed(event, 'failed', started, (err as Error).message);
      throw err;
    }
    metrics?.processed(true, (performance.now() - started) / 1000);
    const at = new Date().toISOString();
    const attempts = completion.attemptsBefore + attempt;
    try {
      await recordTransition(
        { eventId: event.event_id, runId: completion.runId, seq: completion.seq, status: 'completed', attempts, at },
        delivered,
      );
    } catch (err) {
      // The deliveries made must not be sent again by the retry: recorded on their own if PostgreSQL lets us.
      if (delivered.length > 0) await webhooks?.recordDelivered(event, delivered).catch(() => undefined);
      throw err;
    }
    completedHere(event, started);
    return { attempt, at };
  }

  /** What follows an event's `completed` transition in this process, however it was recorded. */
  function completedHere(event: EventEnvelope, started: number, settled = false): void {
    if (settled) {
      onSettled?.(event.event_id);
      metrics?.settled('completed');
      metrics?.processed(true, (performance.now() - started) / 1000);
    }
    metrics?.completed(event.event_source, event.received_at);
    logProcessed(event, 'completed', started);
  }

  return {
    beginEvent,
    recordTransition: (t: Transition) => recordTransition(t),
    // The workflow's call: one argument (claims are the run's start's, below).
    processAndComplete: (args: Parameters<typeof processAndComplete>[0]) => processAndComplete(args),

    /**
     * The happy path's only activity: the run's start as beginEvent makes it, then processing
     * with its `completed` transition as processAndComplete does. Against the two apart, it saves
     * a workflow activation and an encoding of the event per event. A retry repeats the start,
     * which then writes nothing; an event PostgreSQL refuses is kept as failed and not processed.
     * An event with nothing to process (no processor, no subscriber takes its subject) is
     * completed by the statement that stores it: one round trip in all.
     */
    async beginAndProcess({
      completion,
      ...start
    }: BeginArgs & { completion: CompletionRecord }): Promise<{ unstorable: string } | Processed> {
      const work = await workFor(start.event);
      // The statement records `completed` as the run's seq 3 with one attempt: the run's first processing.
      if (completion.seq === 3 && completion.attemptsBefore === 0 && work.processors === 0 && work.subscriptions.length === 0) {
        const started = performance.now();
        const begun = await begin(start, { completed: true });
        if ('unstorable' in begun) return begun;
        completedHere(begun.event, started, true);
        return { attempt: 1, at: start.at };
      }
      // With no processor to run before them, the statement that stores the event also claims its deliveries.
      const claims = work.processors === 0 && webhooks ? webhooks.claimsFor(work.subscriptions) : [];
      const begun = await begin(start, { claims });
      if ('unstorable' in begun) return begun;
      return processAndComplete({ event: begun.event, completion }, begun.claimed);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
