import type { Processor } from '../events/processor.js';
import { subjectMatches } from '../events/subject.js';

/** Built-in processors, run in registration order before any webhook delivery. */
export function createProcessorRegistry(processors: readonly Processor[] = []) {
  return {
    matching(subject: string): Processor[] {
      return processors.filter((p) => p.subjects.some((pat) => subjectMatches(pat, subject)));
    },
  };
}

export type ProcessorRegistry = ReturnType<typeof createProcessorRegistry>;
