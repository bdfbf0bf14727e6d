import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { EventEnvelope } from '../events/envelope.js';
import { subjectFor } from '../events/subject.js';

export interface Published {
  subject: string;
  seq: number;
  duplicate: boolean;
}

export type PublishOutcome = ({ ok: true } & Published) | { ok: false; subject: string; error: string; tooLarge?: boolean };

/** The event, once enriched, is larger than the NATS server takes in one message: a retry cannot help. */
export class EventTooLargeError extends Error {
  override name = 'EventTooLargeError';
}

/** Thrown when JetStream did not confirm the write: the caller must not report the event accepted. */
export class StreamUnavailableError extends Error {
  override name = 'StreamUnavailableError';
}

interface Waiting {
  token: string;
  subject: string;
  id: string;
  /** The serialized event until it is sent; dropped then. */
  data: string | undefined;
  deadline: number;
  /** Trace context headers captured when the event was handed over (tracing on only). */
  trace: Record<string, string> | undefined;
  done(outcome: PublishOutcome): void;
}

/** What observability needs of each publish; absent hooks cost nothing per event. */
export interface PublisherHooks {
  /** The active trace context as headers, read when an event is handed over. */
  traceHeaders?: () => Record<string, string> | undefined;
  /** Each event's end: JetStream stored it (maybe as a duplicate), failed, or it was too large. */
  settled?: (event: EventEnvelope, outcome: 'accepted' | 'duplicate' | 'unavailable' | 'rejected', startedAt: number) => void;
}

/**
 * Publishes events to JetStream and reports each once the stream acknowledged it. Acks come
 * back on one wildcard inbox and are matched here, as JetStream's asynchronous publish does:
 * `js.publish` makes a request (a timer, a race and two Error objects with stack traces) per
 * message, which cost more than half of the API's CPU time per event when ingesting batches.
 */
export function createPublisher(nc: NatsConnection, timeoutMs = 5_000, hooks: PublisherHooks = {}) {
  const inbox = createInbox();
  const waiting = new Map<string, Waiting>();
  let next = 0;

  const fail = (w: Waiting, why: string) => w.done({ ok: false, subject: w.subject, error: `JetStream did not store the event: ${why}` });

  nc.subscribe(`${inbox}.*`, {
    callback: (_err, msg: Msg) => {
      const token = msg.subject.slice(inbox.length + 1);
      const w = waiting.get(token);
      if (!w) return;
      waiting.delete(token);
      // An empty message is a status: 503 means no stream listens on the subject.
      if (msg.data.length === 0)
        return fail(w, msg.headers?.code === 503 ? 'no stream takes this subject' : msg.headers?.description || 'empty answer');
      let ack: { seq?: number; duplicate?: boolean; error?: { description?: string } };
      try {
        ack = msg.json();
      } catch {
        return fail(w, 'the ack is not JSON');
      }
      if (ack.error || typeof ack.seq !== 'number') return fail(w, ack.error?.description ?? 'not an ack');
      w.done({ ok: true, subject: w.subject, seq: ack.seq, duplicate: ack.duplicate === true });
    },
  });
  // Waiting entries are in publish order, so their deadlines are too: stop at the first alive one.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [token, w] of waiting) {
        if (w.deadline > now) break;
        waiting.delete(token);
        fail(w, `no ack within ${timeoutMs} ms`);
      }
    },
    Math.min(1_000, timeoutMs / 5),
  );
  sweep.unref();
  void nc.closed().then(() => {
    clearInterval(sweep);
    for (const w of waiting.values()) fail(w, 'the NATS connection is closed');
    waiting.clear();
  });

  // Publishes wait for the end of the event loop turn, so that the events of every request
  // handled in that turn leave in one socket write: writes are what single-event posts spend
  // most on, not the bytes.
  let queued: Waiting[] = [];
  const flush = () => {
    const batch = queued;
    queued = [];
    for (const w of batch) {
      if (!waiting.has(w.token)) continue; // already failed: the connection closed meanwhile
      const h = headers();
      h.set('Nats-Msg-Id', w.id);
      if (w.trace) for (const [k, v] of Object.entries(w.trace)) h.set(k, v);
      try {
        nc.publish(w.subject, w.data, { reply: `${inbox}.${w.token}`, headers: h });
      } catch (err) {
        waiting.delete(w.token);
        fail(w, (err as Error).message);
      }
      w.data = undefined;
    }
  };

  function send(event: EventEnvelope, data: string, settle: Waiting['done']): void {
    const observed = hooks.settled;
    const startedAt = observed ? performance.now() : 0;
    const done: Waiting['done'] = observed
      ? (o) => {
          observed(event, o.ok ? (o.duplicate ? 'duplicate' : 'accepted') : 'unavailable', startedAt);
          settle(o);
        }
      : settle;
    const w: Waiting = {
      token: (next++).toString(36),
      subject: subjectOf(event),
      id: event.event_id,
      data,
      deadline: Date.now() + timeoutMs,
      trace: hooks.traceHeaders?.(),
      done,
    };
    waiting.set(w.token, w);
    if (queued.push(w) === 1) setImmediate(flush);
  }

  /** The event serialized once, or why it can never be one stream message. */
  function encode(event: EventEnvelope): { data: string } | { tooLarge: string } {
    const data = JSON.stringify(event);
    const size = Buffer.byteLength(data);
    const max = nc.info?.max_payload;
    return max && size > max ? { tooLarge: `the event is ${size} bytes once enriched; the stream takes at most ${max}` } : { data };
  }

  return {
    /** Resolves only once JetStream has stored the event; the event id deduplicates retries. */
    publish(event: EventEnvelope): Promise<Published> {
      const encoded = encode(event);
      if ('tooLarge' in encoded) {
        hooks.settled?.(event, 'rejected', performance.now());
        return Promise.reject(new EventTooLargeError(encoded.tooLarge));
      }
      return new Promise((resolve, reject) =>
        send(event, encoded.data, (o) =>
          o.ok ? resolve({ subject: o.subject, seq: o.seq, duplicate: o.duplicate }) : reject(new StreamUnavailableError(o.error)),
        ),
      );
    },

    /**
     * Publishes every event before awaiting any ack, so a batch costs one round trip rather than
     * one per event. Each event gets its own outcome: a batch can be partly stored. An event too
     * large for a stream message is not sent, and its outcome says so (`tooLarge`).
     */
    publishMany(events: readonly EventEnvelope[]): Promise<PublishOutcome[]> {
      const outcomes = new Array<PublishOutcome>(events.length);
      let left = events.length;
      return new Promise((resolve) => {
        if (left === 0) return resolve(outcomes);
        events.forEach((event, i) => {
          const settle = (o: PublishOutcome) => {
            outcomes[i] = o;
            if (--left === 0) resolve(outcomes);
          };
          const encoded = encode(event);
          if ('tooLarge' in encoded) {
            hooks.settled?.(event, 'rejected', performance.now());
            settle({ ok: false, subject: subjectOf(event), error: encoded.tooLarge, tooLarge: true });
          } else send(event, encoded.data, settle);
        });
      });
    },
  };
}

export type Publisher = ReturnType<typeof createPublisher>;

const subjectOf = (e: EventEnvelope) => subjectFor({ source: e.event_source, category: e.event_category, eventType: e.event_type });
