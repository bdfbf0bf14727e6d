import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Manifest } from '../../src/backup/manifest.js';
import { READ_MODEL_TABLES } from '../../src/read-side/projections.js';
import { rebuildProjections } from '../../src/read-side/rebuild.js';
import type { startReceiver } from '../webhook-receiver.js';

// What the restore drill promises, checked on the restored stack once its work drained:
//  - every event acknowledged before the set's stream snapshot began is there, completed, with
//    one completed transition in its history and its delivery recorded once and received;
//  - an event acknowledged after it is either there the same way or missing: the recovery
//    point's loss, counted; nothing acknowledged before it is ever missing;
//  - no event completed twice, no delivery recorded twice, and the subscriber never received
//    twice an event the restored store knew as delivered (an event delivered after the
//    database's snapshot is sent again, with the same webhook-id: at least once, deduplicable);
//  - the read models equal a rebuild of them from the restored events.

export interface DrillChecks {
  acked: { beforeBackup: number; afterBackup: number; onRestored: number };
  /** Acknowledged before the stream snapshot, and not completed (or missing) after the restore: must be 0. */
  missingBeforeRecoveryPoint: number;
  /** Acknowledged after the stream snapshot began and not in the restored stack: the recovery point's loss. */
  lostAfterRecoveryPoint: number;
  /** Acknowledged on the restored stack and not completed: must be 0. */
  notCompletedAfterRestore: number;
  completedTwice: number;
  deliveryRecordedTwice: number;
  /** Restored events the subscriber never received: must be 0. */
  undelivered: number;
  /** Sent by the restored stack though the restored store had them delivered: must be 0. */
  redeliveredKnown: number;
  /** Received twice from the restored stack alone: must be 0. */
  deliveredTwiceAfterRestore: number;
  /** Sent again by the restored stack because their first delivery happened after the database's snapshot. */
  redeliveredAfterSnapshot: number;
  /** Received twice from the first stack before the disaster (its own at-least-once, e.g. an activity retried under overload). */
  deliveredTwiceBeforeDisaster: number;
  /** Read-model tables that differ from a rebuild, with a few rows of each side: must be empty. */
  readModelsDiffer: string[];
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

export async function checkRestored(o: {
  db: pg.Pool;
  acked: { id: string; at: number; stack: 'first' | 'restored' }[];
  receiver: Receiver;
  manifest: Manifest;
  deliveredAtRestore: Set<string>;
  /** When the first stack was killed: receipts after it came from the restored stack. */
  disasterAt: number;
  drainTimeoutMs?: number;
}): Promise<DrillChecks> {
  const { db, acked, receiver } = o;
  const streamTakenAt = Date.parse(o.manifest.streams.find((s) => s.role === 'events')!.taken_at);
  const ids = acked.map((a) => a.id);
  await drained(
    db,
    acked.filter((a) => a.stack === 'restored').map((a) => a.id),
    o.drainTimeoutMs ?? 150_000,
  );
  const { rows } = await db.query<{ event_id: string; status: string; completions: number; deliveries: number }>(
    `SELECT e.event_id, e.status,
            (SELECT count(*)::int FROM event_status_history h WHERE h.event_id = e.event_id AND h.status = 'completed') AS completions,
            (SELECT count(*)::int FROM webhook_deliveries w WHERE w.event_id = e.event_id AND w.status = 'delivered') AS deliveries
       FROM events e WHERE e.event_id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  const whole = (id: string) => byId.get(id)?.status === 'completed' && byId.get(id)!.completions === 1 && byId.get(id)!.deliveries === 1;
  const before = acked.filter((a) => a.stack === 'first' && a.at < streamTakenAt);
  const after = acked.filter((a) => a.stack === 'first' && a.at >= streamTakenAt);
  const onRestored = acked.filter((a) => a.stack === 'restored');
  const present = acked.filter((a) => byId.has(a.id));
  const counts = { redeliveredKnown: 0, deliveredTwiceAfterRestore: 0, redeliveredAfterSnapshot: 0, deliveredTwiceBeforeDisaster: 0 };
  for (const a of present) {
    const got = receiver.deliveredOk(a.id);
    const before = got.filter((r) => r.at < o.disasterAt).length;
    const after = got.length - before;
    if (before > 1) counts.deliveredTwiceBeforeDisaster++;
    if (after > 1) counts.deliveredTwiceAfterRestore++;
    if (after > 0 && o.deliveredAtRestore.has(a.id)) counts.redeliveredKnown++;
    else if (after > 0 && before > 0) counts.redeliveredAfterSnapshot++;
  }
  return {
    acked: { beforeBackup: before.length, afterBackup: after.length, onRestored: onRestored.length },
    missingBeforeRecoveryPoint: before.filter((a) => !whole(a.id)).length,
    lostAfterRecoveryPoint: after.filter((a) => !byId.has(a.id)).length,
    notCompletedAfterRestore: [...onRestored, ...after.filter((a) => byId.has(a.id))].filter((a) => !whole(a.id)).length,
    completedTwice: rows.filter((r) => r.completions > 1).length,
    deliveryRecordedTwice: rows.filter((r) => r.deliveries > 1).length,
    undelivered: present.filter((a) => receiver.deliveredOk(a.id).length === 0).length,
    ...counts,
    readModelsDiffer: await readModelsDifferingFromRebuild(db),
  };
}

async function drained(db: pg.Pool, mustBeStored: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = async () =>
    (
      await db.query<{ what: string; n: number }>(
        `SELECT 'event ' || status AS what, count(*)::int AS n FROM events WHERE status NOT IN ('completed', 'failed', 'discarded') GROUP BY 1
         UNION ALL
         SELECT 'delivery ' || status, count(*)::int FROM webhook_deliveries WHERE status IN ('pending', 'waiting') GROUP BY 1
         UNION ALL
         SELECT 'acknowledged on the restored stack, not stored yet', count(*)::int FROM unnest($1::uuid[]) AS a(id)
          WHERE NOT EXISTS (SELECT 1 FROM event_ids k WHERE k.event_id = a.id) HAVING count(*) > 0`,
        [mustBeStored],
      )
    ).rows;
  for (;;) {
    const rows = await left();
    if (rows.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not drained after ${timeoutMs} ms: ${rows.map((r) => `${r.n} ${r.what}`).join(', ')}`);
    await sleep(500);
  }
}

async function readModels(db: pg.Pool): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of READ_MODEL_TABLES) {
    const { rows } = await db.query(`SELECT to_jsonb(t)::text AS row FROM ${table} t`);
    out[table] = rows.map((r) => r.row as string).sort();
  }
  return out;
}

/** The read-model tables whose rows differ from a rebuild's (none when they are equal). */
async function readModelsDifferingFromRebuild(db: pg.Pool): Promise<string[]> {
  const live = await readModels(db);
  await rebuildProjections({ pool: db, restart: true });
  const rebuilt = await readModels(db);
  return READ_MODEL_TABLES.filter((t) => JSON.stringify(live[t]) !== JSON.stringify(rebuilt[t])).map(
    (t) =>
      `${t}: live ${JSON.stringify(live[t]!.filter((r) => !rebuilt[t]!.includes(r)).slice(0, 3))}, ` +
      `rebuilt ${JSON.stringify(rebuilt[t]!.filter((r) => !live[t]!.includes(r)).slice(0, 3))}`,
  );
}
