import type { QueuedEvent } from './types.js';

/**
 * Browsers refuse a beacon or keepalive request once the page's such requests in flight pass
 * 64 KiB; staying under 60 000 bytes leaves room for the request line and headers.
 */
export const EXIT_MAX_BYTES = 60_000;

const encoder = new TextEncoder();
export const byteLength = (text: string) => encoder.encode(text).length;

/** The batch body, every event stamped with the same `sent_at` so the service can correct clock skew. */
export function batchBody(events: readonly QueuedEvent[], sentAt: string, writeKey?: string): string {
  const body: { events: unknown[]; write_key?: string } = { events: events.map((e) => ({ ...e, sent_at: sentAt })) };
  if (writeKey !== undefined) body.write_key = writeKey;
  return JSON.stringify(body);
}

/**
 * Splits events into bodies of at most `maxBytes` each, in order, with the write key in the body
 * (beacons cannot set headers). An event too large for any body on its own is left out: it waits
 * in the queue for an ordinary request.
 */
export function exitBodies(
  events: readonly QueuedEvent[],
  sentAt: string,
  writeKey: string,
  maxBytes = EXIT_MAX_BYTES,
): { body: string; events: QueuedEvent[] }[] {
  const empty = byteLength(batchBody([], sentAt, writeKey));
  const out: { body: string; events: QueuedEvent[] }[] = [];
  let current: QueuedEvent[] = [];
  let size = empty;
  const close = () => {
    if (current.length > 0) out.push({ body: batchBody(current, sentAt, writeKey), events: current });
    current = [];
    size = empty;
  };
  for (const e of events) {
    // One event's share: its JSON, its sent_at, and the comma between items.
    const own = byteLength(JSON.stringify({ ...e, sent_at: sentAt })) + 1;
    if (empty + own > maxBytes) continue;
    if (size + own > maxBytes) close();
    current.push(e);
    size += own;
  }
  close();
  return out;
}
