import { ApplicationFailure, Context } from '@temporalio/activity';
import type { EventEnvelope } from '../events/envelope.js';
import { subjectFor } from '../events/subject.js';
import { isPermanentDbError } from '../store/pg-errors.js';
import type { ActivityDeps } from './deps.js';
import type { Delivered } from '../store/delivery-sql.js';
import type { Subscription } from '../store/subscriptions-repo.js';
import type { DeliveryFailure } from './subscriber-delivery.js';

const HEARTBEAT_EVERY_MS = 10_000;

/**
 * When every subscriber still to retry has a retry schedule of its own, the soonest of their
 * delays replaces the event's retry policy's; otherwise the policy's stands.
 */
function ownRetryDelay(failed: DeliveryFailure[]): number | undefined {
  const retried = failed.filter((f) => !f.permanent);
  if (retried.length === 0 || retried.some((f) => f.retryDelayMs === undefined)) return undefined;
  return Math.min(...retried.map((f) => f.retryDelayMs!));
}

/**
 * What processing the event would do: the built-in processors and the webhook subscriptions that
 * take its subject. With none of either, the event completes as it is stored (begin.ts).
 */
export function createWorkFor({ processors, webhooks }: Pick<ActivityDeps, 'processors' | 'webhooks'>) {
  return async function workFor(
    event: Pick<EventEnvelope, 'event_source' | 'event_category' | 'event_type'>,
  ): Promise<{ processors: number; subscriptions: Subscription[] }> {
    const subject = subjectFor({ source: event.event_source, category: event.event_category, eventType: event.event_type });
    return { processors: processors.matching(subject).length, subscriptions: (await webhooks?.matching(subject)) ?? [] };
  };
}

const NOTHING_SENT = { failures: [], delivered: [] };

/** An attempt that succeeded, and the deliveries it made, still to record with the event's completion. */
interface Processing {
  attempt: number;
  delivered: Delivered[];
}

/**
 * Processing itself: the matching built-in processors in order, then the webhook subscribers
 * that have not received the event, all at once. Fails when any of them failed, naming each;
 * the failure is non-retryable only when every failure is. Resolves with the attempt it was and
 * the deliveries it made.
 */
export function createProcessEvent({ processors, webhooks }: Pick<ActivityDeps, 'processors' | 'webhooks'>) {
  async function runProcessors(event: EventEnvelope, ctx: Context, claimed: ReadonlySet<string>): Promise<Processing> {
    const { attempt } = ctx.info;
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
    const { failures: failed, delivered } = (await webhooks?.deliver(event, subject, ctx.cancellationSignal, claimed)) ?? NOTHING_SENT;
    if (failed.length > 0) {
      const nonRetryable = failed.every((f) => f.permanent);
      const nextRetryDelay = ownRetryDelay(failed);
      throw ApplicationFailure.create({
        message: failed.map((f) => f.error).join('; '),
        type: nonRetryable ? 'WebhookRejected' : 'WebhookFailed',
        nonRetryable,
        details: [{ attempt, subscriptions: failed.map((f) => f.subscriptionId) }],
        ...(nextRetryDelay !== undefined && { nextRetryDelay }),
      });
    }
    return { attempt, delivered };
  }

  /** `claimed`: deliveries the run's start claimed for this attempt. */
  return async function processEvent(event: EventEnvelope, claimed: ReadonlySet<string> = new Set()): Promise<Processing> {
    const ctx = Context.current();
    // A normal activity must heartbeat within its heartbeat timeout, or the server starts another
    // attempt beside this one; it also lets a cancellation reach it.
    const beat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await runProcessors(event, ctx, claimed);
    } finally {
      clearInterval(beat);
    }
  };
}
