import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';
import { transaction, withClient } from './transaction.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
// Any constant works; it only has to be the same in every process that migrates.
const LOCK_ID = 0x65766e74;

/** Applies each migrations/*.sql not yet recorded, in name order, each in its own transaction. */
export async function migrate(pool: Pool, log: Logger, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  // The API and the worker both migrate at start; the session lock makes the second one wait.
  return withClient(pool, async (client) => {
    const applied: string[] = [];
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
      for (const file of files.filter((f) => !done.has(f))) {
        const sql = await readFile(`${dir}/${file}`, 'utf8');
        await transaction(client, async (c) => {
          await c.query(sql);
          await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        }).catch((err: Error) => {
          throw new Error(`migration ${file} failed: ${err.message}`, { cause: err });
        });
        log.info({ migration: file }, 'migration applied');
        applied.push(file);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => {});
    }
    return applied;
  });
}
