import { createDelivery } from './delivery.js';
import { createFlushLock, createSharedBackoff } from './flush-lock.js';
import { createIdentity } from './identity.js';
import { type InitOptions, resolveOptions } from './options.js';
import { usableLocalStorage } from './queue/local-storage-queue.js';
import { openQueue } from './queue/open-queue.js';
import { createTransport } from './transport.js';
import type { Category, JsonObject, QueuedEvent, Report, Stats } from './types.js';
import { uuidv7 } from './uuid-v7.js';

export const SDK_NAME = 'event-service-browser';
export const SDK_VERSION = '0.1.0';

export interface TrackOptions {
  category?: Category;
}

const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);

export function createClient(init: InitOptions) {
  const o = resolveOptions(init);
  const storage = usableLocalStorage();
  const prefix = `event-service:${o.name}`;
  const identity = createIdentity({ storage, key: `${prefix}:identity`, idleMs: o.sessionIdleMs, newId: () => uuidv7() });
  const stats: Stats = { storage: 'memory', queued: 0, accepted: 0, duplicates: 0, rejected: 0, evicted: 0, retries: 0, exitSends: 0 };
  const own = new Map<string, QueuedEvent>();
  const report = (r: Report) => {
    try {
      o.onReport?.(r);
    } catch {
      // A failing report handler must not stop delivery.
    }
  };
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  // The tab that flushes a shared queue sends other tabs' events too; they hear which are done.
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`${prefix}:settled`) : undefined;
  channel?.addEventListener('message', (e: MessageEvent<{ settled?: unknown }>) => {
    if (Array.isArray(e.data?.settled)) for (const id of e.data.settled) own.delete(String(id));
  });

  const ready = openQueue(o.name).then((queue) => {
    stats.storage = queue.kind;
    const delivery = createDelivery({
      queue,
      transport: createTransport(`${o.endpoint}/api/frontend/events`, o.writeKey),
      lock: createFlushLock(`${prefix}:flush`, queue.shared),
      backoff: createSharedBackoff(queue.shared ? storage : undefined, `${prefix}:retry-at`),
      retry: o.retry,
      batchSize: o.batchSize,
      stats,
      report,
      own,
      announce: (ids) => channel?.postMessage({ settled: ids }),
      scheduleRetry: (ms) => later(ms, () => void flush()),
    });
    return { queue, delivery };
  });
  // Adds are chained so that a flush sees every event tracked before it was called.
  let adding: Promise<unknown> = ready;
  let unflushed = 0;

  async function flush(): Promise<void> {
    const { delivery } = await ready;
    await adding;
    unflushed = 0;
    await delivery.flush();
  }

  function enqueue(event: QueuedEvent) {
    own.set(event.event_id, event);
    adding = adding
      .then(async () => {
        const { queue } = await ready;
        const evicted = await queue.add([event], o.maxQueueSize);
        if (evicted.length > 0) {
          for (const id of evicted) own.delete(id);
          stats.evicted += evicted.length;
          report({ type: 'evicted', count: evicted.length, eventIds: evicted });
        }
      })
      .catch((err: unknown) => report({ type: 'error', message: `could not queue event ${event.event_id}: ${String(err)}` }));
    unflushed += 1;
    if (unflushed >= o.batchSize) void flush();
  }

  function track(eventType: string, data: JsonObject = {}, options: TrackOptions = {}): string {
    const now = Date.now();
    const event: QueuedEvent = {
      event_id: uuidv7(now),
      event_type: eventType,
      category: options.category ?? 'user_interaction',
      // A snapshot: later changes to the caller's object must not change the queued event.
      data: JSON.parse(JSON.stringify(data ?? {})) as JsonObject,
      metadata: {
        page_url: clip(location.href, 2048),
        ...(document.referrer && { referrer: clip(document.referrer, 2048) }),
        ...(navigator.language && { language: clip(navigator.language, 35) }),
        sdk: { name: SDK_NAME, version: SDK_VERSION },
      },
      session_id: identity.session(now),
      timestamp: new Date(now).toISOString(),
    };
    const userId = identity.userId();
    if (userId) event.user_id = userId;
    enqueue(event);
    return event.event_id;
  }

  const onExit = () => void ready.then(({ delivery }) => delivery.exit());
  const onVisibility = () => (document.visibilityState === 'hidden' ? onExit() : void flush());
  const onShow = (e: PageTransitionEvent) => e.persisted && void flush();
  const onOnline = () => void flush();
  // pagehide and visibilitychange, never unload: an unload listener keeps a page out of the back-forward cache.
  addEventListener('pagehide', onExit);
  addEventListener('pageshow', onShow);
  addEventListener('online', onOnline);
  document.addEventListener('visibilitychange', onVisibility);
  const interval = setInterval(() => void flush(), o.flushIntervalMs);
  // Events queued by earlier visits (or other tabs) go out as soon as the queue is open.
  void flush();

  return {
    track,
    page(data: JsonObject = {}): string {
      return track(
        'page_view',
        { path: location.pathname, title: clip(document.title, 500), url: clip(location.href, 2048), ...data },
        { category: 'user_interaction' },
      );
    },
    identify: (userId: string) => identity.identify(clip(String(userId), 100)),
    reset: () => identity.reset(),
    flush,
    async stats(): Promise<Stats> {
      const { queue } = await ready;
      await adding;
      return { ...stats, queued: await queue.count() };
    },
    /** Stops timers and listeners; queued events stay for the next instance. */
    destroy() {
      clearInterval(interval);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      removeEventListener('pagehide', onExit);
      removeEventListener('pageshow', onShow);
      removeEventListener('online', onOnline);
      document.removeEventListener('visibilitychange', onVisibility);
      channel?.close();
    },
  };
}

export type Client = ReturnType<typeof createClient>;
