import pg from 'pg';

export type Pool = pg.Pool;

export function createPool(connectionString: string, max: number): Pool {
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}
