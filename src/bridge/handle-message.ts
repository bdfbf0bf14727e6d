import type { JsMsg } from '@nats-io/jetstream';
import type { EventEnvelope } from '../events/envelope.js';
import type { StreamMessage } from '../events/nats-event.js';
import type { Logger } from '../logger.js';
import type { DeadLetters } from '../nats/dead-letters.js';
import type { Decoder } from '../nats/decode-message.js';
import { classifyStartError } from './start-errors.js';

export type Outcome = 'started' | 'duplicate' | 'dead_lettered' | 'retry';

export interface HandlerDeps {
  decode: Decoder;
  deadLetters: Pick<DeadLetters, 'record'>;
  /** Resolves true when it started the workflow, false when the workflow already existed. `message`: where the event sits in the stream. */
  startWorkflow: (event: EventEnvelope, message: StreamMessage) => Promise<boolean>;
  /** First redelivery delay; doubled per delivery up to a minute while Temporal is unreachable. */
  retryDelayMs: number;
  /** Unclassified start failures of one message, in this process, after which it is dead-lettered. */
  maxDeliver: number;
  log: Logger;
}

const MAX_RETRY_DELAY_MS = 60_000;

/**
 * Settles one message. A message that can never be an event is recorded as a dead letter before
 * it is terminated; if that record cannot be written it is redelivered later instead, so nothing
 * is dropped without a trace. Everything else is acked only once its workflow exists.
 */
export function createMessageHandler({ decode, deadLetters, startWorkflow, retryDelayMs, maxDeliver, log }: HandlerDeps) {
  type Settle = Pick<JsMsg, 'ack' | 'nak' | 'term'>;
  // Counted here rather than with JetStream's delivery count, which also counts the deliveries
  // of an outage: a long outage must not make a message look hopeless. Forgotten on restart.
  const unclassified = new Map<string, number>();
  // Settling a message on a closed connection throws; it is then redelivered anyway.
  const settle = (what: () => void) => {
    try {
      what();
    } catch {
      // the connection is gone: JetStream redelivers after ack_wait
    }
  };

  async function deadLetter(message: StreamMessage, msg: Settle, reason: string): Promise<Outcome> {
    const where = { subject: message.subject, seq: message.seq };
    try {
      const recorded = await deadLetters.record(message, reason);
      // No reason on the term: servers before 2.10 ignore a `+TERM <reason>` entirely.
      settle(() => msg.term());
      log.error({ ...where, reason, recorded }, 'message can never be an event; dead-lettered and terminated');
      return 'dead_lettered';
    } catch (err) {
      log.error({ ...where, reason, err: (err as Error).message }, 'dead letter not recorded; will redeliver');
      settle(() => msg.nak(retryDelayMs));
      return 'retry';
    }
  }

  /**
   * `deliveryCount` is JetStream's count for this message (1 on first delivery); it only sets the
   * redelivery delay. A start that Temporal refuses for good is dead-lettered at once, one that
   * fails for a reason no status code explains after `maxDeliver` such failures; while Temporal
   * is unreachable the message is redelivered for as long as that lasts, never dead-lettered.
   */
  return async function handle(message: StreamMessage, msg: Settle, deliveryCount = 1): Promise<Outcome> {
    const decoded = decode(message);
    if (!decoded.ok) return deadLetter(message, msg, decoded.reason);
    const { event } = decoded;
    const key = `${message.stream}:${message.seq}`;
    try {
      const started = await startWorkflow(event, message);
      unclassified.delete(key);
      settle(() => msg.ack());
      log.debug({ eventId: event.event_id, started }, started ? 'workflow started' : 'workflow already exists');
      return started ? 'started' : 'duplicate';
    } catch (err) {
      const kind = classifyStartError(err);
      const reason = `workflow cannot be started: ${(err as Error).message}`;
      const failures = kind === 'unknown' ? (unclassified.get(key) ?? 0) + 1 : 0;
      if (kind === 'permanent' || failures >= maxDeliver) {
        unclassified.delete(key);
        return deadLetter(message, msg, reason);
      }
      if (failures > 0) unclassified.set(key, failures);
      const delay = Math.min(retryDelayMs * 2 ** Math.min(deliveryCount - 1, 10), MAX_RETRY_DELAY_MS);
      log.warn(
        { eventId: event.event_id, kind, deliveryCount, delayMs: delay, err: (err as Error).message },
        'workflow start failed; will redeliver',
      );
      settle(() => msg.nak(delay));
      return 'retry';
    }
  };
}
