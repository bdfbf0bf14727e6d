import type { JetStreamClient } from '@nats-io/jetstream';
import type { EventEnvelope } from '../events/envelope.js';
import { subjectFor } from '../events/subject.js';

export interface Published {
  subject: string;
  seq: number;
  duplicate: boolean;
}

/** Thrown when JetStream did not confirm the write: the caller must not report the event accepted. */
export class StreamUnavailableError extends Error {
  override name = 'StreamUnavailableError';
}

export function createPublisher(js: JetStreamClient, timeoutMs = 5_000) {
  return {
    /** Resolves only once JetStream has stored the event; the event id deduplicates retries. */
    async publish(event: EventEnvelope): Promise<Published> {
      const subject = subjectFor({ source: event.event_source, category: event.event_category, eventType: event.event_type });
      try {
        const ack = await js.publish(subject, JSON.stringify(event), { msgID: event.event_id, timeout: timeoutMs });
        return { subject, seq: ack.seq, duplicate: ack.duplicate };
      } catch (err) {
        throw new StreamUnavailableError(`JetStream did not store the event: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

export type Publisher = ReturnType<typeof createPublisher>;
