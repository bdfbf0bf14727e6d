import type { JsMsg } from '@nats-io/jetstream';
import type { EventEnvelope } from '../events/envelope.js';
import type { StreamMessage } from '../events/nats-event.js';
import type { Logger } from '../logger.js';
import type { DeadLetters } from '../nats/dead-letters.js';
import type { Decoder } from './decode.js';
import { classifyStartError } from './start-errors.js';

export type Outcome = 'started' | 'duplicate' | 'dead_lettered' | 'retry';

export interface HandlerDeps {
  decode: Decoder;
  deadLetters: Pick<DeadLetters, 'record'>;
  /** Resolves true when it started the workflow, false when the workflow already existed. */
  startWorkflow: (event: EventEnvelope) => Promise<boolean>;
  /** First redelivery delay; doubled per delivery up to a minute while Temporal is unreachable. */
  retryDelayMs: number;
  /** Deliveries after which a message whose start fails for an unknown reason is dead-lettered. */
  maxDeliver: number;
  log: Logger;
}

const MAX_RETRY_DELAY_MS = 60_000;

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
export function createMessageHandler({ decode, deadLetters, startWorkflow, retryDelayMs, maxDeliver, log }: HandlerDeps) {
  type Settle = Pick<JsMsg, 'ack' | 'nak' | 'term'>;

  async function deadLetter(message: StreamMessage, msg: Settle, reason: string): Promise<Outcome> {
    const where = { subject: message.subject, seq: message.seq };
    try {
      const recorded = await deadLetters.record(message, reason);
      // No reason on the term: servers before 2.10 ignore a `+TERM <reason>` entirely.
      msg.term();
      log.error({ ...where, reason, recorded }, 'message can never be an event; dead-lettered and terminated');
      return 'dead_lettered';
    } catch (err) {
      log.error({ ...where, reason, err: (err as Error).message }, 'dead letter not recorded; will redeliver');
      msg.nak(retryDelayMs);
      return 'retry';
    }
  }

  /**
   * `deliveryCount` is JetStream's count for this message (1 on first delivery). A start that
   * Temporal refuses for good is dead-lettered at once, one that fails for an unknown reason after
   * `maxDeliver` deliveries; while Temporal is unreachable the message is redelivered for as long
   * as that lasts, with a growing delay, never dead-lettered.
   */
  return async function handle(message: StreamMessage, msg: Settle, deliveryCount = 1): Promise<Outcome> {
    const decoded = decode(message);
    if (!decoded.ok) return deadLetter(message, msg, decoded.reason);
    const { event } = decoded;
    try {
      const started = await startWorkflow(event);
      msg.ack();
      log.debug({ eventId: event.event_id, started }, started ? 'workflow started' : 'workflow already exists');
      return started ? 'started' : 'duplicate';
    } catch (err) {
      const kind = classifyStartError(err);
      const reason = `workflow cannot be started: ${(err as Error).message}`;
      if (kind === 'permanent' || (kind === 'unknown' && deliveryCount >= maxDeliver)) return deadLetter(message, msg, reason);
      const delay = Math.min(retryDelayMs * 2 ** Math.min(deliveryCount - 1, 10), MAX_RETRY_DELAY_MS);
      log.warn({ eventId: event.event_id, kind, deliveryCount, delayMs: delay, err: (err as Error).message }, 'workflow start failed; will redeliver');
      msg.nak(delay);
      return 'retry';
    }
  };
}
