import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../src/events/envelope.js';
import { createEventsRepo } from '../src/store/events-repo.js';
import { createPool } from '../src/store/pool.js';
import { stack } from './helpers.js';

// The writes a workflow repeats when a worker dies between doing them and recording them in
// history: each repeat must change nothing (found by npm run chaos: kill -9 worker).

describe('events repository, repeated writes', () => {
  const pool = createPool(stack().databaseUrl, 2);
  const repo = createEventsRepo(pool);
  afterAll(() => pool.end());

  const event = (): EventEnvelope => {
    const now = new Date().toISOString();
    return {
      event_id: randomUUID(),
      event_type: 'repo_test',
      event_source: 'backend',
      event_category: 'service',
      data: { n: 1 },
      metadata: {},
      timestamp: now,
      received_at: now,
    };
  };
  const status = async (id: string) => (await repo.get(id))?.status;

  it("a run's start repeated after the event completed leaves it completed", async () => {
    const e = event();
    const at = new Date().toISOString();
    // Stored only by the first call.
    expect((await repo.begin(e, 'run-1', at)).stored).toBe(true);
    expect(await status(e.event_id)).toBe('processing');
    await repo.recordTransition({ eventId: e.event_id, runId: 'run-1', seq: 3, status: 'completed', attempts: 1, at });
    expect((await repo.begin(e, 'run-1', at)).stored).toBe(false);
    await repo.recordTransition({ eventId: e.event_id, runId: 'run-1', seq: 3, status: 'completed', attempts: 1, at });
    expect(await status(e.event_id)).toBe('completed');
    expect((await repo.history(e.event_id)).map((t) => t.status)).toEqual(['pending', 'processing', 'completed']);
  });

  it('an event with nothing to process is stored and completed by one statement, once', async () => {
    const e = event();
    const at = new Date().toISOString();
    expect((await repo.begin(e, 'run-1', at, {}, { completed: true })).stored).toBe(true);
    expect((await repo.begin(e, 'run-1', at, {}, { completed: true })).stored).toBe(false);
    expect(await repo.get(e.event_id)).toMatchObject({ status: 'completed', attempts: 1 });
    const history = await repo.history(e.event_id);
    expect(history.map((t) => [t.seq, t.status, t.attempts])).toEqual([
      [1, 'pending', 0],
      [2, 'processing', 0],
      [3, 'completed', 1],
    ]);
  });

  it('a new run of a stored event starts it again, and keeps the event stored once', async () => {
    const e = event();
    const at = new Date().toISOString();
    await repo.begin(e, 'run-1', at);
    await repo.recordTransition({ eventId: e.event_id, runId: 'run-1', seq: 3, status: 'completed', attempts: 1, at });
    expect((await repo.begin({ ...e, data: { n: 2 } }, 'run-2', at)).stored).toBe(false);
    const stored = await repo.get(e.event_id);
    expect(stored).toMatchObject({ status: 'processing', data: { n: 1 } });
  });
});
