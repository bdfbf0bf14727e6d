import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ChunkCipher, fileSealer, Sealing } from './sealed-file.js';

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
  /** How the file was sealed, when it was. */
  sealing?: Sealing;
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

/**
 * Writes a snapshot of `stream` (messages and consumers) to `file`, sealed by `sealer` when given;
 * `onBytes` sees the running total. Size and sha256 are the file's, as written.
 */
export async function snapshotStream(
  nc: NatsConnection,
  stream: string,
  file: string,
  onBytes?: (bytes: number) => void,
  sealer?: ReturnType<typeof fileSealer>,
): Promise<SnapshotResult> {
  const inbox = `_INBOX.backup.${stream}.${Date.now()}`;
  const sub = nc.subscribe(inbox);
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let bytes = 0;
  const write = async (data: Uint8Array) => {
    hash.update(data);
    bytes += data.length;
    if (!out.write(data)) await once(out, 'drain');
  };
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
      await write(sealer ? sealer.update(msg.data) : msg.data);
      if (msg.reply) nc.publish(msg.reply);
      onBytes?.(bytes);
    }
    const sealed = sealer?.final();
    if (sealed) await write(sealed.tail);
    out.end();
    await once(out, 'finish');
    return { config: started.config, state: started.state, bytes, sha256: hash.digest('hex'), ...(sealed && { sealing: sealed.sealing }) };
  } finally {
    sub.unsubscribe();
    out.destroy();
  }
}

/**
 * Creates `stream` from a snapshot file, opened by `opener` when it was sealed; the stream must
 * not exist. Resolves with its state after. A sealed file that does not open whole is refused
 * before the upload is ended, so the server never makes a stream of it.
 */
export async function restoreStream(
  nc: NatsConnection,
  stream: string,
  snapshot: { config: Record<string, unknown>; state: StreamState },
  file: string,
  onBytes?: (bytes: number) => void,
  opener?: ChunkCipher & { final(): void },
): Promise<StreamState> {
  const { deliver_subject } = await api<ApiAnswer & { deliver_subject: string }>(nc, `$JS.API.STREAM.RESTORE.${stream}`, snapshot);
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
    await nc.request(deliver_subject, opener ? opener.update(chunk as Buffer) : (chunk as Buffer), { timeout: API_TIMEOUT_MS });
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  opener?.final();
  // The empty message ends the upload; the answer is the restored stream's info, or the reason it failed.
  const done = await nc.request(deliver_subject, new Uint8Array(0), { timeout: 10 * API_TIMEOUT_MS });
  const info = done.json<ApiAnswer & { state: StreamState }>();
  if (info.error) throw new Error(`restore of stream ${stream} failed: ${info.error.description} (${info.error.code})`);
  return info.state;
}
