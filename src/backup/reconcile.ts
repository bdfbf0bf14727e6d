import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { SUBJECT_ROOT } from '../events/subject.js';
import { replay, type ReplayResult } from '../read-side/replay.js';
import { createEventsRepo } from '../store/events-repo.js';
import type { Pool } from '../store/pool.js';
import { reprocessEvent } from '../temporal/operator.js';
import type { StartSettings } from '../temporal/start-event-workflow.js';

// After the rows and the streams are back, the three steps that make them one state again, with
// a Temporal that knows nothing (its state is not in a set, see backup.ts):
//   1. every event the restored stream holds and the store lacks is stored (and counted), as
//      `npm run replay` does: those acknowledged between the database's snapshot and the streams';
//   2. the bridge's consumer is moved past the restored stream, since step 1 and 3 account for
//      every message in it: left as it was, it would start a second run of events already done;
//   3. every event not settled gets a new run, as an operator's reprocess of a closed event does:
//      its run in flight at the backup is gone with the old Temporal. Deliveries already recorded
//      are not sent again (the activity skips them).

export async function storeWhatTheStreamHolds(opts: {
  pool: Pool;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  sensitiveFields: readonly string[];
  onProgress?: (done: number, total: number | null) => void;
}): Promise<ReplayResult> {
  return replay({
    ...opts,
    params: { since: new Date(0).toISOString(), subject: `${SUBJECT_ROOT}.>` },
    restart: true,
  });
}

/**
 * Acknowledges every message the bridge's restored consumer still has to deliver or had
 * delivered without an ack. Its ack wait is shortened meanwhile, so those delivered before the
 * backup come again at once; the worker sets it back when it starts.
 */
export async function settleBridgeConsumer(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  bridge: Config['bridge'],
  timeoutMs = 120_000,
): Promise<number> {
  const info = await jsm.consumers.info(stream, bridge.consumer).catch(() => undefined);
  if (!info) return 0;
  await jsm.consumers.update(stream, bridge.consumer, { ack_wait: nanos(1_000) });
  const consumer = await js.consumers.get(stream, bridge.consumer);
  const deadline = Date.now() + timeoutMs;
  let acked = 0;
  for (;;) {
    const now = await jsm.consumers.info(stream, bridge.consumer);
    if (now.num_pending === 0 && now.num_ack_pending === 0) break;
    if (Date.now() > deadline)
      throw new Error(`the bridge's consumer still has ${now.num_pending + now.num_ack_pending} messages after ${timeoutMs} ms`);
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
    for await (const msg of batch) {
      msg.ack();
      acked++;
    }
    if (now.num_pending === 0) await sleep(500);
  }
  await jsm.consumers.update(stream, bridge.consumer, { ack_wait: info.config.ack_wait });
  return acked;
}

const RESUME_AT_ONCE = 16;

export async function resumeUnsettled(opts: {
  pool: Pool;
  temporal: Client;
  start: StartSettings;
  onProgress?: (done: number, total: number) => void;
}): Promise<number> {
  const repo = createEventsRepo(opts.pool);
  const { rows } = await opts.pool.query<{ event_id: string }>(
    `SELECT event_id FROM events WHERE status IN ('pending', 'processing') ORDER BY received_at`,
  );
  let done = 0;
  const one = async (eventId: string) => {
    const outcome = await reprocessEvent({ client: opts.temporal, loadEvent: (id) => repo.get(id), start: opts.start }, eventId, {
      reason: 'restored from a backup: its run in flight was not in the set',
      actor: 'restore',
    });
    if (outcome.outcome === 'not_found') throw new Error(`event ${eventId} vanished during the restore`);
    opts.onProgress?.(++done, rows.length);
  };
  // A few at a time: each is two round trips to Temporal, and there may be thousands.
  for (let i = 0; i < rows.length; i += RESUME_AT_ONCE) {
    await Promise.all(rows.slice(i, i + RESUME_AT_ONCE).map((r) => one(r.event_id)));
  }
  return rows.length;
}
