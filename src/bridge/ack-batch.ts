import type { JsMsg } from '@nats-io/jetstream';

/**
 * Acks held for a moment and sent together. The NATS client writes what one microtask queued in
 * one write, so the acks of events whose starts finish apart cost a write (a system call) each:
 * held for `delayMs`, those of a busy moment go out in one. Holding an ack back risks nothing: a
 * message whose ack never went out is redelivered after `ack_wait`, and the bridge answers its
 * workflow's existence as a duplicate.
 */
export function createAckBatch(delayMs: number) {
  let held: Pick<JsMsg, 'ack'>[] = [];
  let timer: NodeJS.Timeout | undefined;

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    const batch = held;
    held = [];
    for (const msg of batch) {
      try {
        msg.ack();
      } catch {
        // the connection is gone: JetStream redelivers after ack_wait
      }
    }
  }

  return {
    /** The message, as handle-message.ts settles it, with its ack held back. */
    holding<M extends Pick<JsMsg, 'ack' | 'nak' | 'term'>>(msg: M): Pick<JsMsg, 'ack' | 'nak' | 'term'> {
      return {
        ack: () => {
          held.push(msg);
          timer ??= setTimeout(flush, delayMs);
        },
        nak: (delay?: number) => msg.nak(delay),
        term: (reason?: string) => msg.term(reason),
      };
    },
    /** Sends what is held now (on stop). */
    flush,
  };
}
