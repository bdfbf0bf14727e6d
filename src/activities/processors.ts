import type { EventEnvelope } from '../events/envelope.js';
import { subjectMatches } from '../events/subject.js';

/**
 * A processor reacts to events whose subject matches one of its patterns (NATS wildcards), such
 * as a read-model projection. It must be idempotent: processing may run it again after a crash
 * or a retry.
 */
export interface Processor {
  name: string;
  subjects: readonly string[];
  process(event: EventEnvelope, subject: string): Promise<void>;
}

/** Built-in processors, run in registration order before any webhook delivery. */
export function createProcessorRegistry(processors: readonly Processor[] = []) {
  return {
    matching(subject: string): Processor[] {
      return processors.filter((p) => p.subjects.some((pat) => subjectMatches(pat, subject)));
    },
  };
}

export type ProcessorRegistry = ReturnType<typeof createProcessorRegistry>;
