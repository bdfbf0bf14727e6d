// The user and session ids stamped on each event, kept in localStorage so that every tab and
// every reload of a visit shares them (in memory where localStorage is unusable).

interface Persisted {
  user_id?: string;
  session_id?: string;
  /** Last tracked event, ms since the epoch: a session ends after `idleMs` without one. */
  last_activity?: number;
}

export interface Identity {
  /** The session id for an event tracked at `now`: a new one after `idleMs` of inactivity. */
  session(now: number): string;
  userId(): string | undefined;
  identify(userId: string): void;
  /** Forgets the user and ends the session (log-out). */
  reset(): void;
}

export function createIdentity(opts: { storage: Storage | undefined; key: string; idleMs: number; newId: () => string }): Identity {
  let memory: Persisted = {};
  const read = (): Persisted => {
    if (!opts.storage) return memory;
    try {
      return JSON.parse(opts.storage.getItem(opts.key) ?? '{}') as Persisted;
    } catch {
      return {};
    }
  };
  const write = (p: Persisted) => {
    memory = p;
    try {
      opts.storage?.setItem(opts.key, JSON.stringify(p));
    } catch {
      // Quota or private mode: the in-memory copy carries on for this page.
    }
  };
  return {
    session(now) {
      const p = read();
      const expired = !p.session_id || p.last_activity === undefined || now - p.last_activity > opts.idleMs;
      const session_id = expired ? opts.newId() : p.session_id!;
      write({ ...p, session_id, last_activity: Math.max(now, p.last_activity ?? 0) });
      return session_id;
    },
    userId: () => read().user_id,
    identify: (user_id) => write({ ...read(), user_id }),
    reset: () => write({}),
  };
}
