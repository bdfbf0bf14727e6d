import { createMemoryQueue, type EventQueue } from './event-queue.js';
import { openIndexedDbQueue } from './indexeddb-queue.js';
import { createLocalStorageQueue, usableLocalStorage } from './local-storage-queue.js';

/** IndexedDB, else localStorage, else memory (which does not survive a reload, but still batches and retries). */
export async function openQueue(namespace: string): Promise<EventQueue> {
  try {
    return await openIndexedDbQueue(`event-service:${namespace}`);
  } catch {
    const storage = usableLocalStorage();
    return storage ? createLocalStorageQueue(storage, `event-service:${namespace}:queue`) : createMemoryQueue();
  }
}
