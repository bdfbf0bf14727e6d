import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { type EventEnvelope, SETTLED_STATUSES } from '../events/envelope.js';
import { subjectFor } from '../events/subject.js';
import type { Logger } from '../logger.js';
import type { EventsRepo, Transition } from '../store/events-repo.js';
import { isPermanentDbError } from '../store/pg-errors.js';
import { activeTraceId } from '../telemetry/tracing.js';
import type { WorkerMetrics } from '../telemetry/worker-metrics.js';
import { type EventReference, isEventReference } from '../workflows/definitions.js';
import type { ProcessorRegistry } from './processors.js';
import type { WebhookDeliverer } from './webhooks.js';
import type { BeginArgs, BeginResult, CompletionRecord, Processed } from './activity-types.js';
import { envelopeOf, permanentFailsFast } from './stored-event.js';

export type { BeginArgs, BeginResult, CompletionRecord, Processed } from './activity-types.js';

const HEARTBEAT_EVERY_MS = 10_000;

export interface ActivityDeps {
  repo: Pick<EventsRepo, 'begin' | 'insertUnstorable' | 'recordTransition' | 'recorded' | 'get'>;
  /**
   * Reads a referenced event from its stream message, decoded as the bridge decoded it;
   * undefined when the stream no longer holds that message. Absent on a worker without NATS.
   */
  loadMessage?: (ref: EventReference) => Promise<EventEnvelope | undefined>;
  processors: ProcessorRegistry;
  webhooks?: Pick<WebhookDeliverer, 'deliver'>;
  /** Told when an event settles (completed, failed, discarded) in this process: frees its bridge place. */
  onSettled?: (eventId: string) => void;
  metrics?: Pick<WorkerMetrics, 'settled' | 'processed' | 'completed'>;
  /** One line per processed event, with the fields operators search by (never its data). */
  log?: Pick<Logger, 'info' | 'warn'>;
}

export function createActivities({ repo, processors, webhooks, onSettled, metrics, log: eventLog, loadMessage }: ActivityDeps) {
  /** A stored event; after the run's start, a referenced event is always stored (or kept without its data). */
  async function storedEvent(event: EventEnvelope | EventReference): Promise<EventEnvelope> {
    if (!isEventReference(event)) return event;
    const stored = await repo.get(event.event_id);
    if (!stored) throw ApplicationFailure.nonRetryable(`event ${event.event_id} is no longer stored`, 'EventNotStored');
    return envelopeOf(stored);
  }

  /**
   * A referenced event as the run's start needs it: from its stream message (the bridge started
   * the run), else from PostgreSQL (a reprocess of a closed event, or the message gone after it
   * was stored). Undefined when neither holds it. NATS or PostgreSQL unreachable: an error, retried.
   */
  async function resolveForStart(ref: EventReference): Promise<EventEnvelope | undefined> {
    if (ref.reference.message) {
      if (!loadMessage)
        throw ApplicationFailure.retryable('this worker has no stream connection to read the event from', 'NoStreamConnection');
      const loaded = await loadMessage(ref);
      if (loaded) return loaded;
    }
    const stored = await repo.get(ref.event_id);
    return stored && envelopeOf(stored);
  }

  async function recordTransition(t: Transition): Promise<void> {
    await permanentFailsFast(() => repo.recordTransition(t));
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

  /**
   * Runs the matching built-in processors in order, then delivers to the webhook subscribers
   * that have not received the event, all at once. Fails when any of them failed, naming each;
   * the failure is non-retryable only when every failure is.
   */
  async function processEvent(event: EventEnvelope): Promise<{ attempt: number }> {
    const ctx = Context.current();
    const { attempt } = ctx.info;
    // A normal activity must heartbeat within its heartbeat timeout, or the server starts another
    // attempt beside this one; it also lets a cancellation reach it.
    const beat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await runProcessors(event, ctx, attempt);
    } finally {
      clearInterval(beat);
    }
  }

  async function runProcessors(event: EventEnvelope, ctx: Context, attempt: number): Promise<{ attempt: number }> {
    const subject = subjectFor({ source: event.event_source, category: event.event_category, eventType: event.event_type });
    for (const processor of processors.matching(subject)) {
      try {
        await processor.process(event, subject);
      } catch (err) {
        const nonRetryable = (err instanceof ApplicationFailure && err.nonRetryable === true) || isPermanentDbError(err);
        throw ApplicationFailure.create({
          message: `${processor.name}: ${(err as Error).message}`,
          type: nonRetryable ? 'PermanentProcessorError' : 'ProcessorError',
          nonRetryable,
          details: [{ attempt, processor: processor.name }],
        });
      }
    }
    const failed = (await webhooks?.deliver(event, subject, ctx.cancellationSignal)) ?? [];
    if (failed.length > 0) {
      const nonRetryable = failed.every((f) => f.permanent);
      throw ApplicationFailure.create({
        message: failed.map((f) => f.error).join('; '),
        type: nonRetryable ? 'WebhookRejected' : 'WebhookFailed',
        nonRetryable,
        details: [{ attempt, subscriptions: failed.map((f) => f.subscriptionId) }],
      });
    }
    return { attempt };
  }

  /**
   * The start of a run in one round trip: the event stored once, `pending` and `processing`
   * recorded. An event PostgreSQL can never hold is kept without its data, as `failed`; so is a
   * referenced event whose stream message is gone before it was ever stored.
   */
  async function begin({ event: given, runId, at, operator }: BeginArgs): Promise<{ event: EventEnvelope } | { unstorable: string }> {
    const event = isEventReference(given) ? await resolveForStart(given) : given;
    if (!event) {
      const ref = given as EventReference;
      const where = ref.reference.message
        ? `message ${ref.reference.message.seq} of stream ${ref.reference.message.stream}`
        : 'its stream message';
      return unstorable(
        referencedEnvelope(ref),
        runId,
        at,
        `the event (${ref.reference.bytes} bytes) was never stored and ${where} is gone`,
        { messageGone: true },
      );
    }
    try {
      await repo.begin(event, runId, at, operator);
      return { event };
    } catch (err) {
      if (!isPermanentDbError(err)) throw err;
      return unstorable(event, runId, at, `the database cannot store this event: ${err.message} (SQLSTATE ${err.code})`, {
        sqlstate: err.code,
      });
    }
  }

  async function unstorable(
    event: EventEnvelope,
    runId: string,
    at: string,
    reason: string,
    why: Record<string, unknown>,
  ): Promise<{ unstorable: string }> {
    await permanentFailsFast(() => repo.insertUnstorable(event, runId, at, reason));
    log.warn('event cannot be stored; kept without its data as failed', { eventId: event.event_id, ...why });
    onSettled?.(event.event_id);
    metrics?.settled('failed');
    return { unstorable: reason };
  }

  async function beginEvent(start: BeginArgs): Promise<BeginResult> {
    const begun = await begin(start);
    return 'unstorable' in begun ? { unstorable: begun.unstorable } : {};
  }

  /**
   * Processing and, when it succeeds, the `completed` transition, in one activity: one round
   * trip less on the happy path. Returns the attempt that succeeded and the transition's time.
   */
  async function processAndComplete({
    event: given,
    completion,
  }: {
    event: EventEnvelope | EventReference;
    completion: CompletionRecord;
  }): Promise<Processed> {
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
    try {
      ({ attempt } = await processEvent(event));
    } catch (err) {
      metrics?.processed(false, (performance.now() - started) / 1000);
      logProcessed(event, 'failed', started, (err as Error).message);
      throw err;
    }
    metrics?.processed(true, (performance.now() - started) / 1000);
    const at = new Date().toISOString();
    await recordTransition({
      eventId: event.event_id,
      runId: completion.runId,
      seq: completion.seq,
      status: 'completed',
      attempts: completion.attemptsBefore + attempt,
      at,
    });
    metrics?.completed(event.event_source, event.received_at);
    logProcessed(event, 'completed', started);
    return { attempt, at };
  }

  return {
    beginEvent,
    recordTransition,
    processAndComplete,

    /**
     * The happy path's only activity: the run's start as beginEvent makes it, then processing
     * with its `completed` transition as processAndComplete does. Against the two apart, it saves
     * a workflow activation and an encoding of the event per event. A retry repeats the start,
     * which then writes nothing; an event PostgreSQL refuses is kept as failed and not processed.
     */
    async beginAndProcess({
      completion,
      ...start
    }: BeginArgs & { completion: CompletionRecord }): Promise<{ unstorable: string } | Processed> {
      const begun = await begin(start);
      if ('unstorable' in begun) return begun;
      return processAndComplete({ event: begun.event, completion });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** What a reference says of its event, as an envelope without data: for the row of an event that was never stored. */
function referencedEnvelope({ reference, ...fields }: EventReference): EventEnvelope {
  void reference;
  return { ...fields, data: {}, metadata: {} };
}
