import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { StreamMessage } from '../events/nats-event.js';
import type { Redactor } from '../events/redact.js';
import { ensureStreamConfig, streamConfig } from './stream.js';

// Messages in the event stream that can never become events are kept here, outside `events.>`
// (so the bridge never sees them again), with the reason, until an operator has looked at them.

export const deadLetterStreamName = (eventStream: string) => `${eventStream}_DEAD_LETTERS`;
export const deadLetterSubject = (eventStream: string) => `deadletter.${eventStream}`;

const DUPLICATE_WINDOW_MS = 5 * 60_000;
// Keeps a record under NATS's default 1 MiB max_payload; the full original stays in the event stream.
const RECORD_LIMIT_BYTES = 512 * 1024;
const TRUNCATED_BODY_BYTES = 128 * 1024;

export const deadLetterRecord = z.object({
  subject: z.string(),
  stream: z.string(),
  stream_seq: z.number(),
  msg_id: z.string().optional(),
  reason: z.string(),
  received_at: z.string(),
  dead_lettered_at: z.string(),
  body: z.string(),
  body_encoding: z.enum(['utf8', 'base64']),
  body_redacted: z.boolean(),
  body_truncated: z.boolean(),
});
export type DeadLetterRecord = z.infer<typeof deadLetterRecord>;
export type DeadLetter = DeadLetterRecord & { seq: number };

/** Kept at the events stream's replicas: a dead letter is as durable as the event it replaces. */
export function ensureDeadLetterStream(jsm: JetStreamManager, stream: Config['stream']): Promise<void> {
  return ensureStreamConfig(
    jsm,
    streamConfig(stream, {
      name: deadLetterStreamName(stream.name),
      subjects: [deadLetterSubject(stream.name)],
      duplicateWindowMs: Math.min(DUPLICATE_WINDOW_MS, stream.maxAgeMs),
      // Full, it drops its oldest records: they outlive the events stream's own copies anyway.
      discard: DiscardPolicy.Old,
    }),
  );
}

const isStreamNotFound = (err: unknown) => err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;

/**
 * The body as kept: text when it is UTF-8, base64 otherwise. A JSON body has its sensitive fields
 * redacted so that listing dead letters does not hand out what the events path would have hidden.
 */
function keptBody(
  body: Uint8Array,
  redact: Redactor,
): Pick<DeadLetterRecord, 'body' | 'body_encoding' | 'body_redacted' | 'body_truncated'> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { body: Buffer.from(body).toString('base64'), body_encoding: 'base64', body_redacted: false, body_truncated: false };
  }
  try {
    const json: unknown = JSON.parse(text);
    // The redactor walks arrays too; only its signature insists on an object.
    const redacted = JSON.stringify(json !== null && typeof json === 'object' ? redact(json as Record<string, unknown>) : json);
    if (redacted !== JSON.stringify(json)) return { body: redacted, body_encoding: 'utf8', body_redacted: true, body_truncated: false };
  } catch {
    // Not JSON: kept as sent.
  }
  return { body: text, body_encoding: 'utf8', body_redacted: false, body_truncated: false };
}

export function createDeadLetters({
  js,
  jsm,
  stream,
  redact,
  timeoutMs = 5_000,
}: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: Config['stream'];
  redact: Redactor;
  timeoutMs?: number;
}) {
  const name = deadLetterStreamName(stream.name);
  const subject = deadLetterSubject(stream.name);

  return {
    /**
     * Stores the dead letter; resolves only once JetStream has it. Returns false when the same
     * message was recorded already (a redelivery after a lost term).
     */
    async record(msg: StreamMessage, reason: string): Promise<boolean> {
      const record: DeadLetterRecord = {
        subject: msg.subject,
        stream: msg.stream,
        stream_seq: msg.seq,
        ...(msg.msgId && { msg_id: msg.msgId }),
        reason,
        received_at: msg.storedAt.toISOString(),
        dead_lettered_at: new Date().toISOString(),
        ...keptBody(msg.body, redact),
      };
      let payload = JSON.stringify(record);
      if (Buffer.byteLength(payload) > RECORD_LIMIT_BYTES) {
        const head = record.body_encoding === 'base64' ? Buffer.from(record.body, 'base64') : Buffer.from(record.body);
        payload = JSON.stringify({
          ...record,
          body: head.subarray(0, TRUNCATED_BODY_BYTES).toString('base64'),
          body_encoding: 'base64',
          body_truncated: true,
        });
      }
      const ack = await js.publish(subject, payload, { msgID: `${msg.stream}:${msg.streamCreated}:${msg.seq}`, timeout: timeoutMs });
      return !ack.duplicate;
    },

    /** Newest first. `total` counts all kept; `nextBeforeSeq` is the cursor of the next page. */
    async list({
      limit,
      beforeSeq,
    }: {
      limit: number;
      beforeSeq?: number;
    }): Promise<{ items: DeadLetter[]; total: number; nextBeforeSeq: number | null }> {
      let state;
      try {
        ({ state } = await jsm.streams.info(name));
      } catch (err) {
        if (isStreamNotFound(err)) return { items: [], total: 0, nextBeforeSeq: null };
        throw err;
      }
      const top = Math.min(state.last_seq, (beforeSeq ?? Number.MAX_SAFE_INTEGER) - 1);
      const bottom = Math.max(state.first_seq, top - limit + 1);
      if (state.messages === 0 || top < bottom) return { items: [], total: state.messages, nextBeforeSeq: null };
      const seqs = Array.from({ length: top - bottom + 1 }, (_, i) => top - i);
      const found = await Promise.all(seqs.map((seq) => jsm.streams.getMessage(name, { seq })));
      return {
        items: found.filter((m): m is StoredMsg => m !== null).map(toDeadLetter),
        total: state.messages,
        nextBeforeSeq: bottom > state.first_seq ? bottom : null,
      };
    },
  };
}

export type DeadLetters = ReturnType<typeof createDeadLetters>;

/** A message someone else put on the subject is shown as it is rather than hidden. */
function toDeadLetter(m: StoredMsg): DeadLetter {
  const parsed = deadLetterRecord.safeParse(safeJson(m));
  if (parsed.success) return { seq: m.seq, ...parsed.data };
  return {
    seq: m.seq,
    subject: m.subject,
    stream: '',
    stream_seq: 0,
    reason: 'not a dead-letter record',
    received_at: m.time.toISOString(),
    dead_lettered_at: m.time.toISOString(),
    body: Buffer.from(m.data).toString('base64'),
    body_encoding: 'base64',
    body_redacted: false,
    body_truncated: false,
  };
}

function safeJson(m: StoredMsg): unknown {
  try {
    return m.json();
  } catch {
    return undefined;
  }
}
