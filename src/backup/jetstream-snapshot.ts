import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';

// A stream's snapshot and restore through the JetStream API, as the nats CLI does them:
// @nats-io/jetstream has no call for either. The server writes the stream's own files (messages,
// and with them every consumer's state: the bridge's acknowledged floor) as an s2-compressed tar
// in chunks to an inbox; each chunk carries a reply subject the client answers to let the next
// ones come (flow control); an empty message ends it, its status header saying whether it worked.
// A restore sends the same chunks back, each as a request the server answers, then an empty one.
// Sequence numbers survive a restore, which a re-publish would not keep: a big event's workflow
// reads its message by sequence (src/bridge/load-message.ts).

export interface StreamState {
  [field: string]: unknown;
  messages: number;
  bytes: number;
  first_seq: number;
  last_seq: number;
  consumer_count: number;
}

export interface SnapshotResult {
  /** What the server answered when it began: the stream's configuration and its state at the snapshot. */
  config: Record<string, unknown>;
  state: StreamState;
  bytes: number;
  sha256: string;
}

const API_TIMEOUT_MS = 30_000;
const CHUNK_BYTES = 128 * 1024;

type ApiAnswer = { error?: { code: number; description: string } } & Record<string, unknown>;

async function api<T extends ApiAnswer>(nc: NatsConnection, subject: string, body: unknown): Promise<T> {
  const msg = await nc.request(subject, JSON.stringify(body), { timeout: API_TIMEOUT_MS });
  const answer = msg.json<T>();
  if (answer.error) throw new Error(`${subject}: ${answer.error.description} (${answer.error.code})`);
  return answer;
}

/** Writes a snapshot of `stream` (messages and consumers) to `file`; `onBytes` sees the running total. */
export async function snapshotStream(
  nc: NatsConnection,
  stream: string,
  file: string,
  onBytes?: (bytes: number) => void,
): Promise<SnapshotResult> {
  const inbox = `_INBOX.backup.${stream}.${Date.now()}`;
  const sub = nc.subscribe(inbox);
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const started = await api<ApiAnswer & { config: Record<string, unknown>; state: StreamState }>(
      nc,
      `$JS.API.STREAM.SNAPSHOT.${stream}`,
      {
        deliver_subject: inbox,
        chunk_size: CHUNK_BYTES,
        no_consumers: false,
      },
    );
    for await (const msg of sub) {
      if (msg.data.length === 0) {
        // The last message: 204 when the snapshot is whole, 408 or 500 with the reason otherwise.
        const code = msg.headers?.code ?? 0;
        if (code !== 0 && code !== 204)
          throw new Error(`snapshot of ${stream} failed on the server: ${code} ${msg.headers?.description ?? ''}`);
        break;
      }
      hash.update(msg.data);
      bytes += msg.data.length;
      if (!out.write(msg.data)) await once(out, 'drain');
      if (msg.reply) nc.publish(msg.reply);
      onBytes?.(bytes);
    }
    out.end();
    await once(out, 'finish');
    return { config: started.config, state: started.state, bytes, sha256: hash.digest('hex') };
  } finally {
    sub.unsubscribe();
    out.destroy();
  }
}

/** Creates `stream` from a snapshot file; the stream must not exist. Resolves with its state after. */
export async function restoreStream(
  nc: NatsConnection,
  stream: string,
  snapshot: { config: Record<string, unknown>; state: StreamState },
  file: string,
  onBytes?: (bytes: number) => void,
): Promise<StreamState> {
  const { deliver_subject } = await api<ApiAnswer & { deliver_subject: string }>(nc, `$JS.API.STREAM.RESTORE.${stream}`, snapshot);
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
    await nc.request(deliver_subject, chunk as Buffer, { timeout: API_TIMEOUT_MS });
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  // The empty message ends the upload; the answer is the restored stream's info, or the reason it failed.
  const done = await nc.request(deliver_subject, new Uint8Array(0), { timeout: 10 * API_TIMEOUT_MS });
  const info = done.json<ApiAnswer & { state: StreamState }>();
  if (info.error) throw new Error(`restore of stream ${stream} failed: ${info.error.description} (${info.error.code})`);
  return info.state;
}
