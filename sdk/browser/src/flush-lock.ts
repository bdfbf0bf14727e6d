// One tab flushes a shared queue at a time: the others would read the same oldest events and
// send them twice. Web Locks are released by the browser when the holder's tab closes or crashes.

/** Runs `fn` holding the lock, or returns false at once when another tab holds it. */
export function createFlushLock(name: string, shared: boolean) {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return async (fn: () => Promise<void>): Promise<boolean> => {
    // A memory queue is this page's own; without Web Locks (browsers before 2022) the service's
    // deduplication by event id is what keeps a doubly sent event stored once.
    if (!shared || !locks) {
      await fn();
      return true;
    }
    return locks.request(name, { ifAvailable: true }, async (lock) => {
      if (!lock) return false;
      await fn();
      return true;
    });
  };
}

/**
 * When the next attempt may be made, shared by the tabs through localStorage: a tab taking the
 * lock after another backed off must not cut the wait (or a server's Retry-After) short.
 */
export function createSharedBackoff(storage: Storage | undefined, key: string) {
  let local = 0;
  return {
    until(): number {
      try {
        return Math.max(local, Number(storage?.getItem(key) ?? 0) || 0);
      } catch {
        return local;
      }
    },
    set(until: number) {
      local = until;
      try {
        if (until > 0) storage?.setItem(key, String(until));
        else storage?.removeItem(key);
      } catch {
        // The in-page value still holds this tab back.
      }
    },
  };
}
