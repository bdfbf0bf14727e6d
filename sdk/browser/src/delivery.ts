import { type Settled, settleBatch } from './answer.js';
import { backoffDelay, type BackoffOptions, parseRetryAfter } from './backoff.js';
import type { createSharedBackoff } from './flush-lock.js';
import type { EventQueue } from './queue/event-queue.js';
import type { Answer, Transport } from './transport.js';
import type { QueuedEvent, Report, Stats } from './types.js';

export interface DeliveryDeps {
  queue: EventQueue;
  transport: Transport;
  lock: (fn: () => Promise<void>) => Promise<boolean>;
  backoff: ReturnType<typeof createSharedBackoff>;
  retry: BackoffOptions;
  batchSize: number;
  stats: Stats;
  report: (r: Report) => void;
  /** This page's own events not yet answered for: what page-exit delivery sends. */
  own: Map<string, QueuedEvent>;
  /** Tells the other tabs which events are answered for, so that they drop them from their own `own`. */
  announce: (ids: string[]) => void;
  /** Called with the delay when a retry is due later. */
  scheduleRetry: (delayMs: number) => void;
}

export function createDelivery(d: DeliveryDeps) {
  let batchSize = d.batchSize;
  let attempt = 0;
  let running: Promise<void> | undefined;
  let again = false;
  /** Ids this page sent at exit and has no answer for yet: the ordinary flush leaves them alone. */
  const atExit = new Set<string>();
  /** Ids of the ordinary request in flight, which page-exit delivery must not send again. */
  let sending = new Set<string>();

  async function apply(s: Settled): Promise<void> {
    const rejectedIds = s.rejected.map((r) => r.event.event_id);
    const gone = [...s.accepted, ...s.duplicates, ...rejectedIds];
    await d.queue.remove(gone);
    for (const id of gone) d.own.delete(id);
    if (gone.length > 0) d.announce(gone);
    d.stats.accepted += s.accepted.length;
    d.stats.duplicates += s.duplicates.length;
    d.stats.rejected += s.rejected.length;
    if (s.accepted.length + s.duplicates.length > 0) d.report({ type: 'sent', accepted: s.accepted, duplicates: s.duplicates });
    if (s.rejected.length > 0) d.report({ type: 'rejected', events: s.rejected });
  }

  /** Settles a batch's answer; returns false when the loop must stop and wait. */
  async function handle(batch: QueuedEvent[], answer: Answer): Promise<boolean> {
    const s =
      answer.status === 0
        ? { accepted: [], duplicates: [], rejected: [], retry: batch, reason: 'network error' }
        : settleBatch(batch, answer.status, answer.body);
    await apply(s);
    if (s.shrink) {
      batchSize = Math.max(1, Math.floor(batch.length / 2));
      return true;
    }
    if (s.retry.length === 0) {
      if (attempt > 0) d.backoff.set(0);
      attempt = 0;
      return true;
    }
    attempt += 1;
    d.stats.retries += 1;
    const delayMs = s.fatal ? d.retry.maxMs : backoffDelay(attempt, d.retry, parseRetryAfter(answer.retryAfter));
    d.backoff.set(Date.now() + delayMs);
    if (s.fatal) d.report({ type: 'error', message: s.fatal });
    d.report({ type: 'retry', reason: s.reason ?? 'unknown', delayMs, attempt, pending: await d.queue.count() });
    d.scheduleRetry(delayMs);
    return false;
  }

  async function drain(): Promise<void> {
    for (;;) {
      if (typeof navigator !== 'undefined' && navigator.onLine === false) return;
      const wait = d.backoff.until() - Date.now();
      if (wait > 0) return d.scheduleRetry(wait);
      const batch = (await d.queue.peek(batchSize + atExit.size)).filter((e) => !atExit.has(e.event_id)).slice(0, batchSize);
      if (batch.length === 0) return;
      sending = new Set(batch.map((e) => e.event_id));
      const answer = await d.transport.send(batch).finally(() => {
        sending = new Set();
      });
      if (!(await handle(batch, answer))) return;
    }
  }

  async function loop(): Promise<void> {
    do {
      again = false;
      const ran = await d.lock(drain);
      // Another tab flushes: it reads the shared queue, this page's events included.
      if (!ran) return;
    } while (again);
  }

  return {
    /** Sends what is queued until the queue is empty or a retry is scheduled. */
    flush(): Promise<void> {
      if (running) {
        again = true;
        return running;
      }
      running = loop().finally(() => {
        running = undefined;
      });
      return running;
    },

    /** Page exit: this page's unanswered events, in keepalive requests the browser finishes alone. */
    exit(): void {
      if (typeof navigator !== 'undefined' && navigator.onLine === false) return;
      if (d.backoff.until() > Date.now()) return;
      const pending = [...d.own.values()]
        .filter((e) => !atExit.has(e.event_id) && !sending.has(e.event_id))
        .sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
      if (pending.length === 0) return;
      for (const { events, answer } of d.transport.sendAtExit(pending)) {
        d.stats.exitSends += 1;
        for (const e of events) atExit.add(e.event_id);
        // Reached only if the page lives on (it was hidden, not closed).
        void answer
          .then(async (a) => {
            if (a.status === 0) return;
            await apply(settleBatch(events, a.status, a.body));
          })
          .finally(() => {
            for (const e of events) atExit.delete(e.event_id);
          });
      }
    },
  };
}
