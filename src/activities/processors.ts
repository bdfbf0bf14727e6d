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

export function createProcessorRegistry(processors: readonly Processor[] = []) {
  return {
    /** The processors for an event, in registration order. */
    matching(event: EventEnvelope): { subject: string; processors: Processor[] } {
      const subject = subjectFor({ source: event.event_source, category: event.event_category, eventType: event.event_type });
      return { subject, processors: processors.filter((p) => p.subjects.some((pat) => subjectMatches(pat, subject))) };
    },
  };
}

export type ProcessorRegistry = ReturnType<typeof createProcessorRegistry>;
