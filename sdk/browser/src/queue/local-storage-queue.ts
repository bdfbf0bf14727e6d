import type { QueuedEvent } from '../types.js';
import { addSorted, type EventQueue } from './event-queue.js';

// The fallback when IndexedDB cannot be opened. The whole queue is one JSON value: every change
// is a synchronous read-modify-write, which other tabs cannot interleave with.

export function createLocalStorageQueue(storage: Storage, key: string): EventQueue {
  const read = (): QueuedEvent[] => {
    try {
      const parsed: unknown = JSON.parse(storage.getItem(key) ?? '[]');
      return Array.isArray(parsed) ? (parsed as QueuedEvent[]) : [];
    } catch {
      return [];
    }
  };
  /** Writes the list, dropping its oldest events while the storage quota refuses it; returns those. */
  const write = (list: QueuedEvent[]): string[] => {
    const dropped: string[] = [];
    for (;;) {
      try {
        if (list.length === 0) storage.removeItem(key);
        else storage.setItem(key, JSON.stringify(list));
        return dropped;
      } catch (err) {
        if (list.length === 0) throw err;
        dropped.push(list.shift()!.event_id);
      }
    }
  };
  return {
    kind: 'localstorage',
    shared: true,
    async add(events, cap) {
      const list = read();
      const evicted = addSorted(list, events, cap);
      return [...evicted, ...write(list)];
    },
    peek: async (limit) => read().slice(0, limit),
    async remove(ids) {
      const gone = new Set(ids);
      write(read().filter((e) => !gone.has(e.event_id)));
    },
    count: async () => read().length,
  };
}

/** Whether localStorage can be written here (it throws in some private modes and sandboxed frames). */
export function usableLocalStorage(): Storage | undefined {
  try {
    const probe = '__event_service_probe__';
    localStorage.setItem(probe, '1');
    localStorage.removeItem(probe);
    return localStorage;
  } catch {
    return undefined;
  }
}
