import type { QueuedEvent } from '../types.js';

/**
 * Where events wait until the service has answered for them. Order is oldest first: keys are
 * UUIDv7 event ids, which sort by creation time.
 */
export interface EventQueue {
  kind: 'indexeddb' | 'localstorage' | 'memory';
  /** Whether other tabs of the origin see the same queue (then only one may flush at a time). */
  shared: boolean;
  /** Adds events, then evicts the oldest beyond `cap`; returns the ids evicted. */
  add(events: readonly QueuedEvent[], cap: number): Promise<string[]>;
  /** The oldest `limit` events, left in the queue. */
  peek(limit: number): Promise<QueuedEvent[]>;
  remove(ids: readonly string[]): Promise<void>;
  count(): Promise<number>;
}

const byId = (a: QueuedEvent, b: QueuedEvent) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);

/** Adds to a sorted array in place and returns the evicted ids (shared by the memory and localStorage queues). */
export function addSorted(list: QueuedEvent[], events: readonly QueuedEvent[], cap: number): string[] {
  const known = new Set(list.map((e) => e.event_id));
  for (const e of events) if (!known.has(e.event_id)) list.push(e);
  list.sort(byId);
  const over = Math.max(0, list.length - cap);
  return list.splice(0, over).map((e) => e.event_id);
}

export function createMemoryQueue(): EventQueue {
  const list: QueuedEvent[] = [];
  return {
    kind: 'memory',
    shared: false,
    add: async (events, cap) => addSorted(list, events, cap),
    peek: async (limit) => list.slice(0, limit),
    async remove(ids) {
      const gone = new Set(ids);
      for (let i = list.length - 1; i >= 0; i--) if (gone.has(list[i]!.event_id)) list.splice(i, 1);
    },
    count: async () => list.length,
  };
}
