import type { JetStreamManager } from '@nats-io/jetstream';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** Past this share of its message limit the stream is trimmed of processed messages… */
const TRIM_AT = 0.9;
/** …down to this share, so that a trim happens now and then rather than at every look. */
const KEEP = 0.8;

/**
 * The events stream refuses new messages when full (DiscardPolicy.New, src/nats/stream.ts), so
 * that a backlog larger than its limit is refused at the door (the API answers 503, a direct
 * publisher gets JetStream's error) instead of silently dropping the oldest acknowledged events
 * before anything processed them. What keeps it from filling with processed messages is this:
 * past 90 % of `STREAM_MAX_MESSAGES` the oldest messages are purged down to 80 %, but never one
 * the bridge's consumer has not acked, nor one just acked (a big event's first activity still
 * reads its message, `margin`). Several workers may trim at once: a purge below a sequence is
 * idempotent.
 */
export function createStreamKeeper({
  jsm,
  stream,
  consumer,
  log,
}: {
  jsm: JetStreamManager;
  stream: Config['stream'];
  consumer: string;
  log: Logger;
}) {
  const trimAt = Math.floor(stream.maxMessages * TRIM_AT);
  const keep = Math.floor(stream.maxMessages * KEEP);
  // Acked messages whose run may not have read its big event yet: far more than the places of a few workers.
  const margin = Math.min(1_000, Math.floor(stream.maxMessages / 100));

  return {
    /** One look: purges what may go, and says how many messages went. */
    async trim(): Promise<number> {
      const { state } = await jsm.streams.info(stream.name);
      if (state.messages < trimAt) return 0;
      const { ack_floor } = await jsm.consumers.info(stream.name, consumer);
      // Purging "below seq" keeps seq: every message up to the ack floor (less the margin) may go.
      const below = Math.min(ack_floor.stream_seq + 1 - margin, state.last_seq - keep + 1);
      if (below <= state.first_seq) {
        log.warn(
          { stream: stream.name, messages: state.messages, maxMessages: stream.maxMessages, ackFloor: ack_floor.stream_seq },
          'the events stream is nearly full of events not processed yet; new events will be refused (503) until processing catches up',
        );
        return 0;
      }
      const { purged } = await jsm.streams.purge(stream.name, { seq: below });
      log.info(
        { stream: stream.name, purged, firstKept: below, ackFloor: ack_floor.stream_seq },
        'trimmed processed events from the stream',
      );
      return purged;
    },
  };
}

export type StreamKeeper = ReturnType<typeof createStreamKeeper>;
