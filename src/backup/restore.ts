import { join } from 'node:path';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { createKeyRing } from '../crypto/key-ring.js';
import type { Logger } from '../logger.js';
import { migrate } from '../store/migrate.js';
import type { Pool } from '../store/pool.js';
import { transaction, withClient } from '../store/transaction.js';
import type { StartSettings } from '../temporal/start-event-workflow.js';
import type { BackupProgress } from './backup.js';
import { restoreStream } from './jetstream-snapshot.js';
import { fileOpener } from './sealed-file.js';
import { BackupSetError, type Manifest, verifySet } from './manifest.js';
import { loadTable, projectTables, setSequences } from './pg-tables.js';
import { resumeUnsettled, settleBridgeConsumer, storeWhatTheStreamHolds } from './reconcile.js';

// `npm run restore -- <set>`: checks the whole set first, refuses a stack that holds anything
// (unless forced), then the streams, the rows in one transaction, and the reconciliation that
// makes them one state with an empty Temporal (reconcile.ts).

export interface RestoreResult {
  manifest: Manifest;
  rows: number;
  messages: number;
  /** Events the stream held and the database's snapshot did not: stored from the stream. */
  storedFromStream: number;
  /** Messages the bridge had not acknowledged at the backup, acknowledged by the restore. */
  settledMessages: number;
  /** Events not settled at the backup, each given a new run. */
  resumed: number;
}

export interface RestoreDeps {
  pool: Pool;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  temporal: Client;
  config: Pick<Config, 'stream' | 'bridge' | 'sensitiveFields' | 'payloadCodec'>;
  start: StartSettings;
  log: Logger;
  progress?: BackupProgress;
}

/** Checks every file of the set against the manifest, with progress; what restore() does first unless given its answer. */
export async function verifyWithProgress(dir: string, progress?: BackupProgress): Promise<Manifest> {
  progress?.step('verifying checksums');
  let read = 0;
  const manifest = await verifySet(dir, (n) => progress?.bytes((read += n)));
  progress?.done(`verified ${manifest.files.length} files, ${read.toLocaleString('en')} bytes`);
  return manifest;
}

export async function restore(
  dir: string,
  deps: RestoreDeps,
  { force = false, verified }: { force?: boolean; verified?: Manifest } = {},
): Promise<RestoreResult> {
  const { pool, nc, js, jsm, config, progress } = deps;
  const manifest = verified ?? (await verifyWithProgress(dir, progress));
  // Before anything is touched: a sealed snapshot whose key has left the ring cannot be restored.
  const ring = config.payloadCodec.keys.length > 0 ? createKeyRing(config.payloadCodec) : undefined;
  const openers = new Map(manifest.streams.flatMap((s) => (s.sealing ? [[s.name, fileOpener(ring, s.file, s.sealing)] as const] : [])));

  await migrate(pool, deps.log);
  const applied = (await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((r) => r.name);
  if (applied.join() !== manifest.database.migrations.join()) {
    throw new BackupSetError(
      `the set's schema (${manifest.database.migrations.at(-1)}) is not this version's (${applied.at(-1)}): restore it with the version that made it`,
    );
  }
  await ensureEmpty(deps, manifest, force);

  let messages = 0;
  for (const s of manifest.streams) {
    progress?.step(`stream ${s.name}`);
    const state = await restoreStream(
      nc,
      s.name,
      { config: s.config, state: s.state },
      join(dir, s.file),
      (n) => progress?.bytes(n),
      openers.get(s.name),
    );
    // The state in the manifest is the stream's when the snapshot began: messages published while
    // the server wrote it may be in it too, never fewer.
    if (state.last_seq < s.state.last_seq) {
      throw new Error(`stream ${s.name} restored up to sequence ${state.last_seq}, the set has it up to ${s.state.last_seq}`);
    }
    messages += state.messages;
    progress?.done(`stream ${s.name}: ${state.messages.toLocaleString('en')} messages up to sequence ${state.last_seq}`);
  }

  const rows = await withClient(pool, (c) =>
    transaction(c, async () => {
      for (const month of manifest.database.partition_months) await c.query('SELECT ensure_event_partition($1)', [month]);
      let total = 0;
      for (const t of manifest.database.tables) {
        progress?.step(`postgres ${t.name}`);
        let done = 0;
        const loaded = await loadTable(c, t, join(dir, t.file), (n) => progress?.bytes((done += n)));
        if (loaded !== t.rows) throw new BackupSetError(`${t.file}: ${loaded} rows, the manifest says ${t.rows}`);
        total += loaded;
        progress?.done(`postgres ${t.name}: ${loaded.toLocaleString('en')} rows`);
      }
      await setSequences(c, manifest.database.sequences);
      return total;
    }),
  );

  progress?.step('storing what the stream holds and the database lacks');
  const replayed = await storeWhatTheStreamHolds({
    pool,
    js,
    jsm,
    stream: config.stream.name,
    sensitiveFields: config.sensitiveFields,
    onProgress: (done) => progress?.bytes(done),
  });
  progress?.done(`read ${replayed.read.toLocaleString('en')} messages, stored ${replayed.stored} the database lacked`);
  const settledMessages = await settleBridgeConsumer(js, jsm, config.stream.name, config.bridge);
  progress?.done(`bridge consumer: ${settledMessages} messages it had not acknowledged are accounted for`);
  progress?.step('resuming unsettled events');
  const resumed = await resumeUnsettled({ pool, temporal: deps.temporal, start: deps.start, onProgress: (d) => progress?.bytes(d) });
  progress?.done(`${resumed} unsettled events given a new run`);
  return { manifest, rows, messages, storedFromStream: replayed.stored, settledMessages, resumed };
}

/** A stack is empty when no table the set fills holds a row and no stream it restores holds a message. */
async function ensureEmpty(deps: RestoreDeps, manifest: Manifest, force: boolean): Promise<void> {
  const { pool, jsm, config } = deps;
  const busy: string[] = [];
  const tables = await projectTables(pool);
  for (const t of tables) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM "${t.name}" LIMIT 1) x`);
    if (rows[0]!.n > 0) busy.push(`table ${t.name} has rows`);
  }
  const existing: string[] = [];
  for (const s of manifest.streams) {
    const info = await jsm.streams.info(s.name).catch(() => undefined);
    if (!info) continue;
    existing.push(s.name);
    if (info.state.messages > 0) busy.push(`stream ${s.name} has ${info.state.messages} messages`);
    const consumer = await jsm.consumers.info(s.name, config.bridge.consumer).catch(() => undefined);
    if (consumer && consumer.num_waiting > 0) {
      throw new Error(`a worker is consuming stream ${s.name}: stop the workers (and the API) before a restore`);
    }
  }
  if (busy.length > 0 && !force) {
    throw new Error(`the stack is not empty (${busy.join('; ')}): restore into an empty stack, or pass --force to replace what it holds`);
  }
  if (busy.length > 0) {
    deps.log.warn({ replaced: busy }, 'restore --force: replacing what the stack holds');
    await pool.query(`TRUNCATE ${tables.map((t) => `"${t.name}"`).join(', ')} CASCADE`);
  }
  // An empty stream a service created at its start is replaced by the restored one.
  for (const name of existing) await jsm.streams.delete(name);
}
