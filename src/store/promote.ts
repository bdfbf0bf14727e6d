import pg from 'pg';
import { parseDatabaseUrl } from './database-url.js';

// Failover's one step that changes anything: the standby stops replaying and takes writes. The
// API's and workers' multi-host DATABASE_URL then finds it by itself (writable-host.ts).

export interface Promotion {
  /** It was a standby and is now the primary; false: it already was a primary, nothing was done. */
  promoted: boolean;
  /** Its WAL position as it became the primary. */
  lsn: string;
  ms: number;
}

/** Promotes the standby `url` points to (one host), waiting until it takes writes. Needs a superuser or a grant on pg_promote. */
export async function promoteStandby(url: string, waitSeconds = 60): Promise<Promotion> {
  const began = Date.now();
  const client = new pg.Client({ connectionString: /^postgres(ql)?:/.test(url) ? parseDatabaseUrl(url).single : url });
  await client.connect();
  try {
    const { rows } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    const promoted = rows[0]!.standby;
    if (promoted) {
      const done = await client.query<{ ok: boolean }>('SELECT pg_promote(true, $1) AS ok', [waitSeconds]);
      if (!done.rows[0]!.ok) throw new Error(`the standby did not finish its promotion within ${waitSeconds} s; see its log`);
    }
    const lsn = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return { promoted, lsn: lsn.rows[0]!.lsn, ms: Date.now() - began };
  } finally {
    await client.end();
  }
}
