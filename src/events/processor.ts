import type { EventEnvelope } from './envelope.js';

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
