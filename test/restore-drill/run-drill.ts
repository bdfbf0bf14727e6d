import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { steadyLoad } from '../../bench/load.js';
import { backup } from '../../src/backup/backup.js';
import type { Manifest } from '../../src/backup/manifest.js';
import { loadConfig } from '../../src/config.js';
import { createKeyRing } from '../../src/crypto/key-ring.js';
import { startThrowawayDeployment } from '../../src/dev/throwaway-deployment.js';
import type { TemporalKind } from '../../src/dev/temporal.js';
import type { Logger } from '../../src/logger.js';
import { createPool } from '../../src/store/pool.js';
import { startReceiver } from '../webhook-receiver.js';
import { checkRestored, type DrillChecks } from './checks.js';
import { restoreIntoFreshStack } from './fresh-stack.js';

// The restore drill: a stack under a steady load with one webhook subscriber; a backup taken
// while the load runs; the load goes on until the disaster, when every process of the stack is
// killed -9 and its data folder deleted; a fresh stack on empty data gets the set restored, its
// API and worker started, and takes a little more load. Then what every acknowledged event
// became is checked (checks.ts). Nothing survives the disaster but the set: events acknowledged
// after the set's stream snapshot are the recovery point's loss, counted, never silently gone.

export interface DrillOptions {
  rate: number;
  /** Seconds of load on the first stack; the backup starts at `backupAt` of them. */
  seconds: number;
  backupAt: number;
  /** Seconds of load on the restored stack. */
  afterSeconds: number;
  /** How long the restored stack may take to work through what it restored and was sent. */
  drainTimeoutMs?: number;
  dataDir: string;
  cacheDir: string;
  temporalCliPath?: string;
  temporalKind?: TemporalKind;
  log: Logger;
  progress?: (line: string) => void;
}

export interface DrillResult extends DrillChecks {
  manifest: Manifest;
  backupMs: number;
  /** From the disaster until the restored stack's API and worker are ready. */
  recoveryMs: number;
  /** The restore alone (checksums, streams, rows, reconciliation), within recoveryMs. */
  restoreMs: number;
  /** From the stream snapshot to the disaster: how far back the recovery point was. */
  recoveryPointAgeMs: number;
}

type Acked = { id: string; at: number; stack: 'first' | 'restored' };

// One session per user: a session's summary keeps one user whatever order its events are counted in.
async function postEvent(apiUrl: string, i: number, acked: Acked[], stack: Acked['stack']): Promise<number> {
  const res = await fetch(`${apiUrl}/api/events/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: randomUUID(), event_type: 'drill', user_id: `u${i % 7}`, session_id: `s${i % 7}`, data: { i } }),
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  if (res?.status === 202) acked.push({ id: ((await res.json()) as { event_id: string }).event_id, at: Date.now(), stack });
  else await res?.arrayBuffer().catch(() => undefined);
  return 0;
}

export async function runRestoreDrill(o: DrillOptions): Promise<DrillResult> {
  const say = o.progress ?? (() => undefined);
  const receiver = await startReceiver();
  const first = await startThrowawayDeployment({
    dataDir: join(o.dataDir, 'first'),
    cacheDir: o.cacheDir,
    ...(o.temporalCliPath && { temporalCliPath: o.temporalCliPath }),
    ...(o.temporalKind && { temporalKind: o.temporalKind }),
    freshTemporal: true,
    env: { LOG_LEVEL: 'fatal' },
    log: o.log,
  });
  const acked: Acked[] = [];
  try {
    const sub = await fetch(`${first.apiUrl}/api/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, subjects: ['events.backend.service.drill'] }),
    });
    if (sub.status !== 201) throw new Error(`subscription: HTTP ${sub.status}`);
    say(`load: ${o.rate} events/s for ${o.seconds} s on the first stack`);
    const load = steadyLoad(o.rate, o.seconds, (i) => postEvent(first.apiUrl, i, acked, 'first'));
    await sleep(o.seconds * o.backupAt * 1000);
    const set = join(o.dataDir, 'set');
    const pool = createPool(first.databaseUrl, 2);
    const nc = await connect({ servers: first.natsUrl });
    const backupBegan = Date.now();
    let manifest: Manifest;
    try {
      const keyRing = createKeyRing(loadConfig({ ...first.payloadKeys }).payloadCodec);
      manifest = await backup({ pool, nc, jsm: await jetstreamManager(nc), stream: 'EVENTS', dir: set, keyRing });
    } finally {
      await nc.close();
      await pool.end();
    }
    const backupMs = Date.now() - backupBegan;
    const events = manifest.streams.find((s) => s.role === 'events')!;
    const stored = manifest.database.tables.find((t) => t.name === 'events')?.rows ?? 0;
    say(
      `backup in ${backupMs} ms: database at ${manifest.database.taken_at} (${stored} events), EVENTS up to sequence ${events.state.last_seq} at ${events.taken_at}`,
    );
    await load;

    // The disaster: every process killed -9, the data folder gone.
    const disaster = Date.now();
    for (const pid of Object.values(first.pids)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await first.stop().catch(() => undefined);
    await rm(join(o.dataDir, 'first'), { recursive: true, force: true });
    say('disaster: the first stack killed -9 and its data deleted');

    const restored = await restoreIntoFreshStack({
      set,
      dataDir: join(o.dataDir, 'restored'),
      cacheDir: o.cacheDir,
      ...(o.temporalCliPath && { temporalCliPath: o.temporalCliPath }),
      ...(o.temporalKind && { temporalKind: o.temporalKind }),
      log: o.log,
      payloadKeys: first.payloadKeys,
    });
    const recoveryMs = Date.now() - disaster;
    say(
      `restored in ${restored.restoreMs} ms (${restored.restored.rows} rows, ${restored.restored.messages} messages, ` +
        `${restored.restored.storedFromStream} stored from the stream, ${restored.restored.resumed} resumed); ready ${recoveryMs} ms after the disaster`,
    );
    try {
      await steadyLoad(o.rate, o.afterSeconds, (i) => postEvent(restored.apiUrl, i, acked, 'restored'));
      const db = new pg.Pool({ connectionString: restored.databaseUrl, max: 2 });
      try {
        const checks = await checkRestored({
          db,
          acked,
          receiver,
          manifest,
          deliveredAtRestore: restored.deliveredAtRestore,
          disasterAt: disaster,
          ...(o.drainTimeoutMs && { drainTimeoutMs: o.drainTimeoutMs }),
        });
        return {
          ...checks,
          manifest,
          backupMs,
          recoveryMs,
          restoreMs: restored.restoreMs,
          recoveryPointAgeMs: disaster - Date.parse(events.taken_at),
        };
      } finally {
        await db.end();
      }
    } finally {
      await restored.stop();
    }
  } finally {
    await first.stop().catch(() => undefined);
    await receiver.close();
  }
}
