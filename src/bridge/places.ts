// At most `max` events in progress: started and not yet settled (completed, parked as failed,
// or discarded). The bridge pulls from JetStream only when a place is free, so the backlog waits
// in the stream, not in Temporal's task queue. Places are freed when this process's activities
// record the settling transition; a place held longer than `recheckAfterMs` (its workflow ran on
// another worker, or this process lost the notice) is freed once Temporal says the event has
// settled. The set lives in memory: a restarted process starts with every place free.

export interface PlacesDeps {
  max: number;
  recheckAfterMs: number;
  /** Asks Temporal whether the event's workflow has settled. */
  isSettled(eventId: string): Promise<boolean>;
  now?: () => number;
}

export function createPlaces({ max, recheckAfterMs, isSettled, now = Date.now }: PlacesDeps) {
  const held = new Map<string, number>();
  let waiters: (() => void)[] = [];

  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };

  return {
    get size(): number {
      return held.size;
    },
    get free(): number {
      return Math.max(0, max - held.size);
    },
    /** Takes the event's place; false when it already holds one (its first start is still in progress). */
    take(eventId: string): boolean {
      if (held.has(eventId)) return false;
      held.set(eventId, now());
      return true;
    },
    release(eventId: string): void {
      if (held.delete(eventId)) wake();
    },
    /** Resolves once at least `atLeast` places are free (at once if they are), or on `signal`'s abort. */
    async whenFree(signal?: AbortSignal, atLeast = 1): Promise<void> {
      while (held.size > max - Math.min(atLeast, max) && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          const done = () => {
            signal?.removeEventListener('abort', done);
            resolve();
          };
          waiters.push(done);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    },
    /** Frees the places of long-held events that Temporal says have settled. */
    async recheck(): Promise<number> {
      const cutoff = now() - recheckAfterMs;
      const old = [...held].filter(([, since]) => since <= cutoff).map(([id]) => id);
      let freed = 0;
      for (const id of old) {
        const settled = await isSettled(id).catch(() => false);
        if (settled && held.delete(id)) freed++;
        else if (held.has(id)) held.set(id, now());
      }
      if (freed > 0) wake();
      return freed;
    },
  };
}

export type Places = ReturnType<typeof createPlaces>;
