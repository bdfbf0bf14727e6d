import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Config } from '../config.js';
import { SETTLED_STATUSES } from '../events/envelope.js';
import type { Logger } from '../logger.js';
import { createDecoder } from '../nats/decode-message.js';
import { ensureStream } from '../nats/stream.js';
import type { Pool } from '../store/pool.js';
import { type MirrorOrigin, mirrorState, mirrorStreamName } from './mirror.js';
import { requeueFromStore, unsettledIds } from './requeue.js';

// Promotion turns a standby site into the one that processes and accepts events. What the mirror
// holds is copied into this site's own events stream, which the bridge consumes and the API
// publishes to, except the events this site's store already holds settled (its store being the
// promoted replica of the lost site's): those were processed there. Copying rather than turning
// the mirror itself into the stream works on every nats-server (a mirror cannot be edited into a
// normal stream before 2.12, and Debian ships 2.9), keeps the mirror as the record of what arrived,
// and fences the lost site: anything its stream still sends later lands in the mirror, not here.

const BATCH = 500;

export interface PromotionFigures {
  origin: MirrorOrigin;
  /** Messages the mirror held (its last sequence is the primary's last one it received). */
  mirrored: number;
  lastSeq: number;
  /** Events this site's store already held settled: not processed again. */
  alreadySettled: number;
  /** Events copied into the stream to be processed here, and messages that are no event (dead-lettered here). */
  copied: number;
  /**
   * Events the store holds unsettled that the mirror lacked (the store's replica ran ahead of the
   * mirror): queued again from the store.
   */
  fromStore: number;
  invalid: number;
  ms: number;
}

export async function promoteSite({
  js,
  jsm,
  pool,
  config,
  log,
}: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  pool: Pool;
  config: Pick<Config, 'stream' | 'sensitiveFields'>;
  log: Logger;
}): Promise<PromotionFigures> {
  const began = Date.now();
  const state = await mirrorState(jsm, config.stream.name);
  await ensureStream(jsm, config.stream);
  const figures: PromotionFigures = {
    origin: state.origin,
    mirrored: state.messages,
    lastSeq: state.lastSeq,
    alreadySettled: 0,
    copied: 0,
    fromStore: 0,
    invalid: 0,
    ms: 0,
  };
  log.info({ ...state }, 'promoting: copying what the mirror holds into the events stream');
  // In progress at the lost site when it went: processed here whether or not the mirror has them.
  const unsettled = await unsettledIds(pool);
  if (state.messages > 0) {
    const copy = createCopier(js, pool, config, state.origin);
    // Read up to the last message the mirror held at the start: later arrivals (a primary that
    // came back) are not this promotion's.
    const consumer = await js.consumers.get(mirrorStreamName(config.stream.name), {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: state.firstSeq,
    });
    let batch: JsMsg[] = [];
    const flush = async () => {
      const done = await copy(batch, unsettled);
      figures.alreadySettled += done.alreadySettled;
      figures.copied += done.copied;
      figures.invalid += done.invalid;
      batch = [];
      log.info(
        { seq: done.lastSeq, of: state.lastSeq, copied: figures.copied, alreadySettled: figures.alreadySettled },
        'promotion progress',
      );
    };
    const messages = await consumer.consume({ max_messages: BATCH });
    for await (const msg of messages) {
      if (msg.seq > state.lastSeq) break;
      batch.push(msg);
      if (batch.length >= BATCH || msg.seq === state.lastSeq) await flush();
      if (msg.seq === state.lastSeq) break;
    }
    await messages.close();
    if (batch.length > 0) await flush();
  }
  figures.fromStore = await requeueFromStore(js, pool, unsettled);
  figures.ms = Date.now() - began;
  log.info({ ...figures }, 'promoted: this site processes and accepts events');
  return figures;
}

/** Copies a batch in order of the mirror, leaving out the events the store holds settled. */
function createCopier(js: JetStreamClient, pool: Pool, config: Pick<Config, 'stream' | 'sensitiveFields'>, origin: MirrorOrigin) {
  const decode = createDecoder(config.sensitiveFields);
  return async (batch: JsMsg[], unsettled: Set<string>) => {
    const decoded = batch.map((msg) => {
      const msgId = msg.headers?.get('Nats-Msg-Id');
      // Decoded at the origin's position, so an id-less message gets the id the lost site gave it.
      const position = { stream: origin.stream, streamCreated: origin.created, seq: msg.seq };
      return { msg, result: decode({ ...position, subject: msg.subject, body: msg.data, storedAt: msg.time, ...(msgId && { msgId }) }) };
    });
    const ids = decoded.flatMap((d) => (d.result.ok ? [d.result.event.event_id] : []));
    const settled = new Set(
      (
        await pool.query<{ event_id: string }>('SELECT event_id::text FROM events WHERE event_id = ANY($1::uuid[]) AND status = ANY($2)', [
          ids,
          SETTLED_STATUSES,
        ])
      ).rows.map((r) => r.event_id),
    );
    let copied = 0;
    let invalid = 0;
    // One at a time, in the mirror's order: the stream's order is the order events are taken in.
    for (const { msg, result } of decoded) {
      if (result.ok) unsettled.delete(result.event.event_id);
      if (result.ok && settled.has(result.event.event_id)) continue;
      const h = natsHeaders();
      for (const key of msg.headers?.keys() ?? []) if (!key.startsWith('Nats-')) h.set(key, msg.headers!.get(key));
      // The full envelope as the API publishes it: the id, received_at and timestamp the lost
      // site gave it, whatever the producer left out. A message that is no event goes as it was,
      // for this site's bridge to dead-letter.
      const body = result.ok ? JSON.stringify(result.event) : msg.data;
      const msgID = result.ok ? result.event.event_id : `${origin.stream}:${origin.created}:${msg.seq}`;
      await js.publish(msg.subject, body, { msgID, headers: h, timeout: 10_000 });
      if (result.ok) copied++;
      else invalid++;
    }
    return { alreadySettled: settled.size, copied, invalid, lastSeq: batch.at(-1)?.seq ?? 0 };
  };
}
