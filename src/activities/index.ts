import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { EventEnvelope } from '../events/envelope.js';
import type { EventsRepo, Transition } from '../store/events-repo.js';
import type { ProcessorRegistry } from './processors.js';

export interface ActivityDeps {
  repo: Pick<EventsRepo, 'insert' | 'recordTransition'>;
  processors: ProcessorRegistry;
}

export function createActivities({ repo, processors }: ActivityDeps) {
  return {
    async storeEvent(event: EventEnvelope): Promise<void> {
      const inserted = await repo.insert(event);
      log.debug('event stored', { eventId: event.event_id, inserted });
    },

    async recordTransition(t: Transition): Promise<void> {
      await repo.recordTransition(t);
    },

    /**
     * Runs the matching processors in order. Progress is kept in heartbeat details, so a retry
     * skips processors that already succeeded instead of running them twice.
     */
    async processEvent(event: EventEnvelope): Promise<{ attempt: number }> {
      const ctx = Context.current();
      const { attempt } = ctx.info;
      const done = new Set<string>((ctx.info.heartbeatDetails as string[] | undefined) ?? []);
      const { subject, processors: matching } = await processors.matching(event);
      for (const processor of matching) {
        if (done.has(processor.name)) continue;
        try {
          await processor.process(event, subject);
        } catch (err) {
          const nonRetryable = err instanceof ApplicationFailure && err.nonRetryable === true;
          throw ApplicationFailure.create({
            message: `${processor.name}: ${(err as Error).message}`,
            type: nonRetryable ? 'PermanentProcessorError' : 'ProcessorError',
            nonRetryable,
            details: [{ attempt, processor: processor.name }],
          });
        }
        done.add(processor.name);
        ctx.heartbeat([...done]);
      }
      return { attempt };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
