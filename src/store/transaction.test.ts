import { describe, expect, it } from 'vitest';
import type { Pool } from './pool.js';
import { inTransaction } from './transaction.js';

// A pool of one fake client that records its statements and how it was released.
function fakePool(fail: { on?: string } = {}) {
  const statements: string[] = [];
  const released: unknown[] = [];
  const client = {
    async query(sql: string) {
      statements.push(sql);
      if (sql === fail.on) throw new Error(`${sql} failed`);
      return { rows: [] };
    },
    release(err?: unknown) {
      released.push(err);
    },
  };
  const pool = { connect: async () => client } as unknown as Pool;
  return { pool, statements, released };
}

describe('inTransaction', () => {
  it('commits the work and returns the client to the pool', async () => {
    const { pool, statements, released } = fakePool();
    const result = await inTransaction(pool, async (c) => {
      await c.query('INSERT 1');
      return 42;
    });
    expect(result).toBe(42);
    expect(statements).toEqual(['BEGIN', 'INSERT 1', 'COMMIT']);
    expect(released).toEqual([undefined]);
  });

  it('rolls back on the work’s error and throws that same error', async () => {
    const { pool, statements, released } = fakePool({ on: 'INSERT 1' });
    const err = await inTransaction(pool, (c) => c.query('INSERT 1')).catch((e: unknown) => e);
    expect((err as Error).message).toBe('INSERT 1 failed');
    expect(statements).toEqual(['BEGIN', 'INSERT 1', 'ROLLBACK']);
    expect(released).toEqual([undefined]);
  });

  it('rolls back when COMMIT fails', async () => {
    const { pool, statements } = fakePool({ on: 'COMMIT' });
    await expect(inTransaction(pool, async () => {})).rejects.toThrow('COMMIT failed');
    expect(statements).toEqual(['BEGIN', 'COMMIT', 'ROLLBACK']);
  });

  it('destroys the client instead of returning it when ROLLBACK fails, and still throws the work’s error', async () => {
    const { pool, released } = fakePool({ on: 'ROLLBACK' });
    await expect(
      inTransaction(pool, async () => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(released).toHaveLength(1);
    expect(released[0]).toBeInstanceOf(Error);
  });
});
