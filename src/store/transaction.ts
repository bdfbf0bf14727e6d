import type { PoolClient } from 'pg';
import type { Pool } from './pool.js';

// Every write of more than one statement goes through here: BEGIN, the work, COMMIT, and
// ROLLBACK when the work (or the COMMIT) fails. The work's error is what the caller gets, the
// same object, so that its SQLSTATE can still be read (pg-errors.ts).
//
// If the ROLLBACK fails too, the connection is in a state nobody knows (usually it is gone): the
// client is then destroyed when it is released, never handed back to the pool mid-transaction.

export type Client = Pick<PoolClient, 'query'>;

const unusable = new WeakSet<Client>();

/** One transaction on a client the caller holds (for several transactions, or a session lock, on one connection). */
export async function transaction<T>(client: Client, work: (client: Client) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => unusable.add(client));
    throw err;
  }
}

/** A client checked out of the pool for `work`, then released; destroyed instead if a rollback failed on it. */
export async function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await work(client);
  } finally {
    client.release(unusable.has(client) ? new Error('ROLLBACK failed: connection discarded') : undefined);
  }
}

/** One transaction on a client of its own, checked out of the pool and released. */
export async function inTransaction<T>(pool: Pool, work: (client: Client) => Promise<T>): Promise<T> {
  return withClient(pool, (client) => transaction(client, work));
}
