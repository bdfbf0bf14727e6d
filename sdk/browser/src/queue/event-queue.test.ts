import { describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../types.js';
import { createMemoryQueue } from './event-queue.js';
import { createLocalStorageQueue } from './local-storage-queue.js';

const ev = (id: string): QueuedEvent => ({
  event_id: id,
  event_type: 'click',
  category: 'user_interaction',
  data: {},
  metadata: {},
  timestamp: '2026-12-01T00:00:00.000Z',
});

/** A Storage with a byte quota, as browsers enforce one. */
function quotaStorage(quota: number): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem(k, v) {
      if (v.length > quota) throw new DOMException('full', 'QuotaExceededError');
      m.set(k, v);
    },
  };
}

for (const [name, make] of [
  ['memory', () => createMemoryQueue()],
  ['localStorage', () => createLocalStorageQueue(quotaStorage(1e6), 'q')],
] as const) {
  describe(`${name} queue`, () => {
    it('keeps events oldest first, evicts the oldest beyond the cap and names them', async () => {
      const q = make();
      expect(await q.add([ev('b'), ev('a')], 3)).toEqual([]);
      expect(await q.add([ev('d'), ev('c'), ev('e')], 3)).toEqual(['a', 'b']);
      expect((await q.peek(10)).map((e) => e.event_id)).toEqual(['c', 'd', 'e']);
      await q.remove(['d']);
      expect((await q.peek(1)).map((e) => e.event_id)).toEqual(['c']);
      expect(await q.count()).toBe(2);
    });

    it('adds an event already queued only once', async () => {
      const q = make();
      await q.add([ev('a')], 10);
      await q.add([ev('a')], 10);
      expect(await q.count()).toBe(1);
    });
  });
}

it('the localStorage queue evicts the oldest when the quota is reached, and names them', async () => {
  const one = JSON.stringify([ev('a')]).length;
  const q = createLocalStorageQueue(quotaStorage(one * 2), 'q');
  await q.add([ev('a'), ev('b')], 100);
  expect(await q.add([ev('c')], 100)).toEqual(['a']);
  expect((await q.peek(10)).map((e) => e.event_id)).toEqual(['b', 'c']);
});
