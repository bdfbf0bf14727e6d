import type { JsMsg } from '@nats-io/jetstream';
import type { EventEnvelope } from '../events/envelope.js';
import type { StreamMessage } from '../events/nats-event.js';
import type { Logger } from '../logger.js';
import type { DeadLetters } from '../nats/dead-letters.js';
import type { Decoder } from './decode.js';

export type Outcome = 'started' | 'duplicate' | 'dead_lettered' | 'retry';

export interface HandlerDeps {
  decode: Decoder;
  deadLetters: Pick<DeadLetters, 'record'>;
  /** Resolves true when it started the workflow, false when the workflow already existed. */
  startWorkflow: (event: EventEnvelope) => Promise<boolean>;
  retryDelayMs: number;
  log: Logger;
}

/** The stream's view of a delivered message: what decoding and dead-lettering need. */
export function toStreamMessage(msg: JsMsg, streamCreated: string): StreamMessage {
  const msgId = msg.headers?.get('Nats-Msg-Id');
  return {
    subject: msg.subject,
    body: msg.data,
    ...(msgId && { msgId }),
    stream: msg.info.stream,
    streamCreated,
    seq: msg.seq,
    storedAt: msg.time,
  };
}

/**
 * Settles one message. A message that can never be an event is recorded as a dead letter before
 * it is terminated; if that record cannot be written it is redelivered later instead, so nothing
 * is dropped without a trace. Everything else is acked only once its workflow exists.
 */
export function createMessageHandler({ decode, deadLetters, startWorkflow, retryDelayMs, log }: HandlerDeps) {
  return async function handle(message: StreamMessage, msg: Pick<JsMsg, 'ack' | 'nak' | 'term'>): Promise<Outcome> {
    const decoded = decode(message);
    const where = { subject: message.subject, seq: message.seq };
    if (!decoded.ok) {
      try {
        const recorded = await deadLetters.record(message, decoded.reason);
        // No reason on the term: servers before 2.10 ignore a `+TERM <reason>` entirely.
        msg.term();
        log.error({ ...where, reason: decoded.reason, recorded }, 'message can never be an event; dead-lettered and terminated');
        return 'dead_lettered';
      } catch (err) {
        log.error({ ...where, reason: decoded.reason, err: (err as Error).message }, 'dead letter not recorded; will redeliver');
        msg.nak(retryDelayMs);
        return 'retry';
      }
    }
    const { event } = decoded;
    try {
      const started = await startWorkflow(event);
      msg.ack();
      log.debug({ eventId: event.event_id, started }, started ? 'workflow started' : 'workflow already exists');
      return started ? 'started' : 'duplicate';
    } catch (err) {
      log.warn({ eventId: event.event_id, err: (err as Error).message }, 'workflow start failed; will redeliver');
      msg.nak(retryDelayMs);
      return 'retry';
    }
  };
}
