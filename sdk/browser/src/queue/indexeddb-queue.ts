import type { QueuedEvent } from '../types.js';
import type { EventQueue } from './event-queue.js';

const STORE = 'events';

const done = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

const finished = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });

/** Opens (creating if needed) the queue's database; rejects where IndexedDB is unavailable. */
export async function openIndexedDbQueue(name: string, timeoutMs = 3000): Promise<EventQueue> {
  if (typeof indexedDB === 'undefined') throw new Error('no IndexedDB');
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'event_id' });
  // Some browsers leave open() pending forever (private modes, blocked upgrades): give up and fall back.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const db = await Promise.race([
    done(req),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('IndexedDB open timed out')), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  // Another tab upgrading the schema asks us to let go.
  db.onversionchange = () => db.close();

  const tx = (mode: IDBTransactionMode) => {
    const t = db.transaction(STORE, mode);
    return { t, store: t.objectStore(STORE) };
  };

  return {
    kind: 'indexeddb',
    shared: true,
    async add(events, cap) {
      const { t, store } = tx('readwrite');
      for (const e of events) store.put(e);
      const evicted: string[] = [];
      const counted = store.count();
      counted.onsuccess = () => {
        let over = counted.result - cap;
        if (over <= 0) return;
        const cursor = store.openCursor();
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (!c || over <= 0) return;
          evicted.push(String(c.primaryKey));
          c.delete();
          over -= 1;
          c.continue();
        };
      };
      await finished(t);
      return evicted;
    },
    async peek(limit) {
      const { store } = tx('readonly');
      return done(store.getAll(null, limit)) as Promise<QueuedEvent[]>;
    },
    async remove(ids) {
      if (ids.length === 0) return;
      const { t, store } = tx('readwrite');
      for (const id of ids) store.delete(id);
      await finished(t);
    },
    count: () => done(tx('readonly').store.count()),
  };
}
