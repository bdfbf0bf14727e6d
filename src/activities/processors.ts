import type { EventEnvelope } from '../events/envelope.js';
import { subjectFor, subjectMatches } from '../events/subject.js';

/**
 * A processor reacts to events whose subject matches one of its patterns (NATS wildcards).
 * It must be idempotent: the process activity may run it again after a crash or a retry.
 */
export interface Processor {
  name: string;
  subjects: readonly string[];
  process(event: EventEnvelope, subject: string): Promise<void>;
}

/** Processors that come and go at run time, such as webhook subscriptions. */
export interface ProcessorSource {
  forSubject(subject: string): Promise<Processor[]>;
}

/**
 * Built-in processors (read-model projections) first, in registration order, then those of the
 * sources (webhook deliveries), so that subscribers hear of an event once it is projected.
 */
export function createProcessorRegistry(processors: readonly Processor[] = [], sources: readonly ProcessorSource[] = []) {
  return {
    async matching(event: EventEnvelope): Promise<{ subject: string; processors: Processor[] }> {
      const subject = subjectFor({ source: event.event_source, category: event.event_category, eventType: event.event_type });
      const dynamic = (await Promise.all(sources.map((s) => s.forSubject(subject)))).flat();
      const fixed = processors.filter((p) => p.subjects.some((pat) => subjectMatches(pat, subject)));
      return { subject, processors: [...fixed, ...dynamic] };
    },
  };
}

export type ProcessorRegistry = ReturnType<typeof createProcessorRegistry>;
