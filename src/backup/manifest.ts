import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { z } from 'zod';
import { sealingSchema } from './sealed-file.js';

// A backup set is a folder: the files, and manifest.json written last (renamed into place), so a
// set without one was never finished. The manifest lists every file with its size and sha256,
// and says which instant the set holds: the database's snapshot and WAL position, each stream's
// last sequence.

export const MANIFEST = 'manifest.json';
export const FORMAT = 'event-service-backup/1';

const fileEntry = z.object({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const streamState = z.looseObject({
  messages: z.number(),
  bytes: z.number(),
  first_seq: z.number(),
  last_seq: z.number(),
  consumer_count: z.number(),
});

export const manifestSchema = z.object({
  format: z.literal(FORMAT),
  started_at: z.string(),
  finished_at: z.string(),
  database: z.object({
    /** The REPEATABLE READ snapshot every table was read in (pg_current_snapshot()) and the WAL position then. */
    snapshot: z.string(),
    wal_lsn: z.string(),
    taken_at: z.string(),
    server_version: z.string(),
    migrations: z.array(z.string()),
    partition_months: z.array(z.string()),
    sequences: z.array(z.object({ name: z.string(), value: z.string(), called: z.boolean() })),
    tables: z.array(z.object({ name: z.string(), columns: z.array(z.string()), rows: z.number(), file: z.string() })),
  }),
  streams: z.array(
    z.object({
      name: z.string(),
      role: z.enum(['events', 'dead_letters']),
      file: z.string(),
      taken_at: z.string(),
      config: z.record(z.string(), z.unknown()),
      /** The stream's state when the snapshot began: the snapshot holds at least these messages. */
      state: streamState,
      /** The file is sealed (sealed-file.ts): its key, wrapped by the payload key ring. */
      sealing: sealingSchema.optional(),
    }),
  ),
  temporal: z.object({ included: z.boolean(), why: z.string() }),
  files: z.array(fileEntry),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type FileEntry = z.infer<typeof fileEntry>;

export class BackupSetError extends Error {
  override name = 'BackupSetError';
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const temp = join(dir, `${MANIFEST}.partial`);
  await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temp, join(dir, MANIFEST));
}

export async function sha256File(path: string, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/**
 * Reads a set's manifest and checks every file it lists against its size and sha256, before a
 * restore touches anything. Throws a BackupSetError naming each problem found.
 */
export async function verifySet(dir: string, onBytes?: (n: number) => void): Promise<Manifest> {
  if (!existsSync(dir)) throw new BackupSetError(`${dir}: no such backup set`);
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) {
    const partial = existsSync(`${path}.partial`) ? ' (the backup stopped before it finished)' : '';
    throw new BackupSetError(`${dir} is incomplete: it has no ${MANIFEST}${partial}`);
  }
  let parsed: Manifest;
  try {
    parsed = manifestSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch (err) {
    throw new BackupSetError(`${path} is not a valid manifest: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const listed = new Set(parsed.files.map((f) => f.path));
  const needed = [...parsed.database.tables.map((t) => t.file), ...parsed.streams.map((s) => s.file)];
  for (const file of needed) if (!listed.has(file)) problems.push(`${file}: named in the manifest but has no checksum`);
  for (const f of parsed.files) {
    const full = join(dir, f.path);
    if (normalize(f.path).startsWith('..') || f.path.startsWith('/')) {
      problems.push(`${f.path}: outside the set`);
      continue;
    }
    if (!existsSync(full)) {
      problems.push(`${f.path}: missing`);
      continue;
    }
    const { size } = await stat(full);
    if (size !== f.bytes) {
      problems.push(`${f.path}: ${size} bytes, the manifest says ${f.bytes}`);
      continue;
    }
    const sha = await sha256File(full, onBytes);
    if (sha !== f.sha256) problems.push(`${f.path}: sha256 ${sha.slice(0, 12)}…, the manifest says ${f.sha256.slice(0, 12)}…`);
  }
  if (problems.length > 0) throw new BackupSetError(`${dir} is corrupt or incomplete:\n  ${problems.join('\n  ')}`);
  return parsed;
}
