import type { Pool } from '../store/pool.js';

// Where a long job (a rebuild, a replay) is, in PostgreSQL: run again with the same parameters
// after an interruption, it resumes there instead of starting over.

export interface Job<P> {
  position: P | null;
  done: number;
  total: number | null;
  finished: boolean;
  params: unknown;
}

export function createJobs(pool: Pick<Pool, 'query'>) {
  return {
    async get<P>(name: string): Promise<Job<P> | undefined> {
      const r = (await pool.query('SELECT params, position, done, total, finished_at FROM read_side_jobs WHERE name = $1', [name])).rows[0];
      return (
        r && {
          position: r.position,
          done: Number(r.done),
          total: r.total === null ? null : Number(r.total),
          finished: r.finished_at !== null,
          params: r.params,
        }
      );
    },
    async start(name: string, params: unknown, total: number | null): Promise<void> {
      await pool.query(
        `INSERT INTO read_side_jobs (name, params, position, done, total) VALUES ($1, $2, NULL, 0, $3)
         ON CONFLICT (name) DO UPDATE SET params = $2, position = NULL, done = 0, total = $3, started_at = now(), updated_at = now(), finished_at = NULL`,
        [name, JSON.stringify(params), total],
      );
    },
    async advance(name: string, position: unknown, done: number): Promise<void> {
      await pool.query('UPDATE read_side_jobs SET position = $2, done = $3, updated_at = now() WHERE name = $1', [
        name,
        JSON.stringify(position),
        done,
      ]);
    },
    async finish(name: string): Promise<void> {
      await pool.query('UPDATE read_side_jobs SET finished_at = now(), updated_at = now() WHERE name = $1', [name]);
    },
  };
}
