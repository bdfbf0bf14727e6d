import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KeyRing } from '../crypto/key-ring.js';
import { deadLetterStreamName } from '../nats/dead-letters.js';
import type { Pool } from '../store/pool.js';
import { withClient } from '../store/transaction.js';
import { snapshotStream } from './jetstream-snapshot.js';
import { type FileEntry, FORMAT, type Manifest, writeManifest } from './manifest.js';
import { dumpTable, partitionMonths, projectTables, sequenceValues, type TableDump } from './pg-tables.js';
import { fileSealer } from './sealed-file.js';

// `npm run backup`: the event store first, then the streams. The order is what makes a set
// whole: every event acknowledged before the streams' snapshot is in the stream snapshot, stored
// in the database snapshot or not yet; a restore stores what the database lacks from the stream
// (restore.ts). Events acknowledged after the streams' snapshot are the recovery point's loss.

/** Why Temporal's own state is never in a set; the docs say the same (docs/disaster-recovery.md). */
export const TEMPORAL_NOT_INCLUDED =
  "Temporal's state is derived: a restore starts a new run for every event the store holds unsettled. A Temporal history of " +
  'another instant than the event store would either run again what the store already recorded or skip what it never did.';

export interface BackupProgress {
  /** A step begins: a table or a stream. */
  step(label: string): void;
  /** Bytes written so far in the current step. */
  bytes(done: number): void;
  /** The step ended: a one-line summary. */
  done(summary: string): void;
}

export async function backup(opts: {
  pool: Pool;
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  dir: string;
  /** Seals the stream snapshots, which hold ENCRYPTED_FIELDS in clear (sealed-file.ts); without it they are written as they come. */
  keyRing?: KeyRing;
  progress?: BackupProgress;
}): Promise<Manifest> {
  const { pool, nc, jsm, stream, dir, keyRing, progress } = opts;
  const startedAt = new Date().toISOString();
  await mkdir(join(dir, 'postgres'), { recursive: true });
  await mkdir(join(dir, 'streams'), { recursive: true });
  const files: FileEntry[] = [];

  const database = await withClient(pool, async (c) => {
    // READ ONLY and REPEATABLE READ: every statement below sees the snapshot the first one took.
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const pos = await c.query<{ snapshot: string; lsn: string; at: Date; version: string }>(
        `SELECT pg_current_snapshot()::text AS snapshot, pg_current_wal_lsn()::text AS lsn, now() AS at,
                current_setting('server_version') AS version`,
      );
      const migrations = (await c.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((r) => r.name);
      const tables: (TableDump & { file: string })[] = [];
      for (const table of await projectTables(c)) {
        const file = `postgres/${table.name}.copy`;
        progress?.step(`postgres ${table.name}`);
        let written = 0;
        const dumped = await dumpTable(c, table, join(dir, file), (n) => progress?.bytes((written += n)));
        progress?.done(`postgres ${table.name}: ${dumped.rows.toLocaleString('en')} rows, ${dumped.bytes.toLocaleString('en')} bytes`);
        tables.push({ ...dumped, file });
        files.push({ path: file, bytes: dumped.bytes, sha256: dumped.sha256 });
      }
      const result = {
        snapshot: pos.rows[0]!.snapshot,
        wal_lsn: pos.rows[0]!.lsn,
        taken_at: pos.rows[0]!.at.toISOString(),
        server_version: pos.rows[0]!.version,
        migrations,
        partition_months: await partitionMonths(c),
        sequences: await sequenceValues(c),
        tables: tables.map(({ name, columns, rows, file }) => ({ name, columns, rows, file })),
      };
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });

  const streams: Manifest['streams'] = [];
  for (const [name, role] of [
    [stream, 'events'],
    [deadLetterStreamName(stream), 'dead_letters'],
  ] as const) {
    if (!(await jsm.streams.info(name).catch(() => undefined))) {
      // A stack whose worker never ran has no dead-letter stream yet: nothing to keep.
      if (role === 'events') throw new Error(`stream ${name} not found: is this the stack's NATS?`);
      progress?.done(`stream ${name}: none`);
      continue;
    }
    const file = `streams/${name}.tar.s2`;
    progress?.step(`stream ${name}`);
    const takenAt = new Date().toISOString();
    const sealer = keyRing && fileSealer(keyRing, file);
    const snap = await snapshotStream(nc, name, join(dir, file), (n) => progress?.bytes(n), sealer);
    progress?.done(
      `stream ${name}: ${snap.state.messages.toLocaleString('en')} messages up to sequence ${snap.state.last_seq}, ${snap.bytes.toLocaleString('en')} bytes`,
    );
    streams.push({
      name,
      role,
      file,
      taken_at: takenAt,
      config: snap.config,
      state: snap.state,
      ...(snap.sealing && { sealing: snap.sealing }),
    });
    files.push({ path: file, bytes: snap.bytes, sha256: snap.sha256 });
  }

  const manifest: Manifest = {
    format: FORMAT,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    database,
    streams,
    temporal: { included: false, why: TEMPORAL_NOT_INCLUDED },
    files,
  };
  await writeManifest(dir, manifest);
  return manifest;
}

/** The default folder of a new set: `<base>/<UTC time>`, sortable and safe in a path. */
export function setFolderName(at = new Date()): string {
  return at.toISOString().replace(/[:.]/g, '-');
}
