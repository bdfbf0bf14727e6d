import type { Pool } from '../store/pool.js';
import { CHUNK, CHUNK_START, READ_MODEL_TABLES } from './projections.js';
import { transaction, withClient } from '../store/transaction.js';
import { createJobs } from './jobs.js';

// `npm run projections:rebuild`: the read models emptied, then every stored event counted again
// in chunks, in received_at order, each chunk with its progress in one transaction. Interrupted,
// it resumes after the last chunk done; run again once finished, it starts over and arrives at
// the same counts. Events processed meanwhile are counted by whichever of the two gets to them
// first, once (their mark in projected_events). Until it ends, the statistics are partial.

const JOB = 'projections:rebuild';
// Only one rebuild at a time: two would each empty what the other counted.
const LOCK = 0x72626c64;

export interface RebuildResult {
  resumed: boolean;
  seen: number;
  counted: number;
}

export async function rebuildProjections(opts: {
  pool: Pool;
  chunkSize?: number;
  restart?: boolean;
  onProgress?: (done: number, total: number | null) => void;
  /** Told when the read models changed under the caches (emptied, then complete). */
  onChanged?: () => Promise<void>;
}): Promise<RebuildResult> {
  const { pool, chunkSize = 5_000 } = opts;
  return withClient(pool, async (client) => {
    const locked = (await client.query('SELECT pg_try_advisory_lock($1) AS ok', [LOCK])).rows[0].ok;
    if (!locked) throw new Error('another projections rebuild is running');
    try {
      const jobs = createJobs(client);
      let job = await jobs.get<{ after: string }>(JOB);
      const resumed = !!job && !job.finished && !opts.restart;
      if (!resumed) {
        await transaction(client, async () => {
          await client.query(`TRUNCATE ${READ_MODEL_TABLES.join(', ')}`);
          const total = Number((await client.query('SELECT count(*) AS n FROM events')).rows[0].n);
          await jobs.start(JOB, {}, total);
        });
        await opts.onChanged?.();
        job = await jobs.get(JOB);
      }
      let after = job!.position?.after ?? CHUNK_START;
      let seen = job!.done;
      let counted = 0;
      for (;;) {
        const r = await transaction(client, async () => {
          const r = (await client.query(CHUNK, [after, chunkSize])).rows[0];
          await jobs.advance(JOB, { after: r.last ?? after }, seen + r.seen);
          return r;
        });
        if (r.last) after = r.last;
        seen += r.seen;
        counted += r.counted;
        opts.onProgress?.(seen, job!.total);
        if (r.seen < chunkSize) break;
      }
      await jobs.finish(JOB);
      await opts.onChanged?.();
      return { resumed, seen, counted };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK]).catch(() => {});
    }
  });
}
