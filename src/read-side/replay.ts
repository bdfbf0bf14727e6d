import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { createDecoder, toStreamMessage } from '../nats/decode-message.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import { createEventsRepo } from '../store/events-repo.js';
import type { Pool } from '../store/pool.js';
import { projectEvent } from './projections.js';
import { createJobs } from './jobs.js';

// `npm run replay`: the stream read again from a time, and each event driven again through the
// store and the projections. Both are idempotent (the id is claimed once, an event is counted
// once), so a replay over events already there changes nothing, and one over events the
// database lost (restored from an older backup) stores and counts them. It starts no workflow:
// an event it had to store is left `pending`, to be reprocessed by an operator.

export interface ReplayParams {
  since: string;
  until?: string;
  subject: string;
}

export interface ReplayResult {
  resumed: boolean;
  read: number;
  stored: number;
  counted: number;
  undecodable: number;
  /** Events of users deleted for privacy since: never stored again. */
  deleted: number;
}

const JOB = 'replay';
const SAVE_EVERY = 500;

export async function replay(opts: {
  pool: Pool;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  sensitiveFields: readonly string[];
  /** Seals the encrypted fields as the worker does. */
  fields?: FieldCrypto | undefined;
  params: ReplayParams;
  restart?: boolean;
  onProgress?: (done: number, total: number | null) => void;
}): Promise<ReplayResult> {
  const { pool, js, jsm, stream, params } = opts;
  const jobs = createJobs(pool);
  const repo = createEventsRepo(pool, opts.fields);
  const decode = createDecoder(opts.sensitiveFields);
  const info = await jsm.streams.info(stream);
  const created = info.created;

  const job = await jobs.get<{ seq: number }>(JOB);
  const resumed = !!job && !job.finished && !opts.restart && JSON.stringify(job.params) === JSON.stringify(params) && job.position !== null;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: params.subject,
    ...(resumed
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: job!.position!.seq + 1 }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: params.since }),
  });
  let read = resumed ? job!.done : 0;
  const result: ReplayResult = { resumed, read, stored: 0, counted: 0, undecodable: 0, deleted: 0 };
  const tombstones = new Map<string, number>(
    (await pool.query('SELECT user_id, max(deleted_at) AS at FROM user_tombstones GROUP BY user_id')).rows.map((r) => [
      r.user_id,
      r.at.getTime(),
    ]),
  );
  const pending = (await consumer.info()).num_pending;
  const total = read + pending;
  if (!resumed) await jobs.start(JOB, params, total);
  if (pending === 0) {
    await jobs.finish(JOB);
    return result;
  }
  const until = params.until ? Date.parse(params.until) : Infinity;
  const messages = await consumer.consume({ max_messages: 256 });
  let lastSeq = 0;
  for await (const msg of messages) {
    if (msg.time.getTime() >= until) break;
    const decoded = decode(toStreamMessage(msg, created));
    const deletedAt = decoded.ok && decoded.event.user_id !== undefined ? tombstones.get(decoded.event.user_id) : undefined;
    if (decoded.ok && deletedAt !== undefined && Date.parse(decoded.event.received_at) <= deletedAt) {
      result.deleted++;
    } else if (decoded.ok) {
      if (await repo.insert(decoded.event)) result.stored++;
      if (await projectEvent(pool, decoded.event)) result.counted++;
    } else {
      result.undecodable++;
    }
    read++;
    lastSeq = msg.seq;
    if (read % SAVE_EVERY === 0) await jobs.advance(JOB, { seq: lastSeq }, read);
    opts.onProgress?.(read, total);
    if (msg.info.pending === 0) break;
  }
  await messages.close();
  if (lastSeq > 0) await jobs.advance(JOB, { seq: lastSeq }, read);
  await jobs.finish(JOB);
  result.read = read;
  return result;
}
