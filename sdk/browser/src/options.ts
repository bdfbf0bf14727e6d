import type { BackoffOptions } from './backoff.js';
import type { Report } from './types.js';

export interface InitOptions {
  /** Base URL of the Event Service API, e.g. `https://events.example.com`. */
  endpoint: string;
  /** The app's publishable write key (one of the service's WRITE_KEYS). */
  writeKey: string;
  /** Events per request (the service takes at most BATCH_MAX_EVENTS, 500 by default). Default 50. */
  batchSize?: number;
  /** How often queued events are sent when fewer than `batchSize` wait. Default 5000 ms. */
  flushIntervalMs?: number;
  /** Events kept while the service cannot be reached; the oldest beyond it are evicted and reported. Default 1000. */
  maxQueueSize?: number;
  /** A new session starts after this long without an event. Default 30 minutes. */
  sessionIdleMs?: number;
  /** Retry delays: doubling from `baseMs` up to `maxMs`, with jitter. Default 1 s to 60 s. */
  retry?: Partial<BackoffOptions>;
  /** Sees every event that is sent, rejected or evicted, every retry, and configuration errors. */
  onReport?: (report: Report) => void;
  /** Separates the storage of several SDK instances on one origin. Default: from endpoint and key. */
  name?: string;
}

export type Resolved = Required<Omit<InitOptions, 'onReport' | 'name' | 'retry'>> & {
  retry: BackoffOptions;
  name: string;
  onReport?: InitOptions['onReport'];
};

/** FNV-1a, enough to name storage after the endpoint and key without writing the key itself. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function resolveOptions(o: InitOptions): Resolved {
  if (!o || typeof o.endpoint !== 'string' || typeof o.writeKey !== 'string' || !o.writeKey) {
    throw new TypeError('init({ endpoint, writeKey }) needs the service URL and a write key');
  }
  const endpoint = o.endpoint.replace(/\/+$/, '');
  const positive = (v: number | undefined, d: number) => (typeof v === 'number' && v > 0 ? v : d);
  return {
    endpoint,
    writeKey: o.writeKey,
    batchSize: Math.min(500, Math.floor(positive(o.batchSize, 50))),
    flushIntervalMs: positive(o.flushIntervalMs, 5000),
    maxQueueSize: Math.floor(positive(o.maxQueueSize, 1000)),
    sessionIdleMs: positive(o.sessionIdleMs, 30 * 60_000),
    retry: { baseMs: positive(o.retry?.baseMs, 1000), maxMs: positive(o.retry?.maxMs, 60_000) },
    name: o.name ?? shortHash(`${endpoint}|${o.writeKey}`),
    ...(o.onReport && { onReport: o.onReport }),
  };
}
