import { batchBody, exitBodies } from './payload.js';
import type { QueuedEvent } from './types.js';

export interface Answer {
  /** 0 when no HTTP answer arrived (offline, connection refused, CORS refusal). */
  status: number;
  body: unknown;
  retryAfter: string | null;
}

async function read(res: Response): Promise<Answer> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

/**
 * An ordinary request that hangs would hold the flush lock, and with it every tab's delivery:
 * past this it is abandoned and retried (the id makes a late arrival harmless).
 */
const REQUEST_TIMEOUT_MS = 30_000;

const NO_ANSWER = (error: unknown): Answer => ({ status: 0, body: { error: { message: String(error) } }, retryAfter: null });

export function createTransport(url: string, writeKey: string) {
  return {
    /** An ordinary batch request: JSON, the key in X-Write-Key. */
    async send(events: readonly QueuedEvent[]): Promise<Answer> {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-write-key': writeKey },
          body: batchBody(events, new Date().toISOString()),
          credentials: 'omit',
          signal: abort.signal,
        });
        return await read(res);
      } catch (err) {
        return NO_ANSWER(err);
      } finally {
        clearTimeout(timer);
      }
    },

    /**
     * Page-exit delivery: bodies under the browsers' 64 KiB limit, sent as text/plain with the key
     * in the body (a CORS "simple" request, so no preflight has to survive the page). A keepalive
     * fetch outlives the page and, if the page lives on (only hidden), its answer settles the
     * events like any other; where it is refused, navigator.sendBeacon hands the body to the
     * browser. Returns one promise per body sent, with the events it carried.
     */
    sendAtExit(events: readonly QueuedEvent[]): { events: QueuedEvent[]; answer: Promise<Answer> }[] {
      const sent: { events: QueuedEvent[]; answer: Promise<Answer> }[] = [];
      for (const { body, events: carried } of exitBodies(events, new Date().toISOString(), writeKey)) {
        let answer: Promise<Answer> | undefined;
        try {
          answer = fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'text/plain' },
            body,
            keepalive: true,
            credentials: 'omit',
          }).then(read, NO_ANSWER);
        } catch {
          answer = undefined;
        }
        if (!answer) {
          // The beacon's fate is unknown: its events stay queued, and a resend is answered `duplicate`.
          if (typeof navigator.sendBeacon !== 'function' || !navigator.sendBeacon(url, body)) break;
          answer = Promise.resolve(NO_ANSWER('sent by beacon'));
        }
        sent.push({ events: carried, answer });
      }
      return sent;
    },
  };
}

export type Transport = ReturnType<typeof createTransport>;
