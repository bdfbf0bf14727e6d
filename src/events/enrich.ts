import type { ClientInfo } from './client-info.js';

// Enrichment of frontend events: when it really happened, and who sent it. Browsers' clocks are
// often wrong; the service's own clock (`received_at`) is the reference.

export interface CorrectedTime {
  /** ISO 8601, UTC. */
  timestamp: string;
  /** received_at − sent_at: the client clock's lag behind ours, network time included. */
  clockSkewMs?: number;
  /** The client's timestamp, when it was too far in the future to believe. */
  clampedFrom?: string;
}

/**
 * With `sent_at`, the event's age by the client clock (sent_at − timestamp) is carried over to
 * our clock: timestamp = received_at − (sent_at − timestamp). A result later than received_at by
 * more than `maxFutureSkewMs` cannot be true: it is clamped to received_at and reported.
 */
export function correctTimestamp(opts: { timestamp?: string; sentAt?: string; receivedAt: Date; maxFutureSkewMs: number }): CorrectedTime {
  const received = opts.receivedAt.getTime();
  if (opts.timestamp === undefined) {
    return {
      timestamp: opts.receivedAt.toISOString(),
      ...(opts.sentAt !== undefined && { clockSkewMs: received - Date.parse(opts.sentAt) }),
    };
  }
  let at = Date.parse(opts.timestamp);
  let clockSkewMs: number | undefined;
  if (opts.sentAt !== undefined) {
    const sent = Date.parse(opts.sentAt);
    clockSkewMs = received - sent;
    at = received - (sent - at);
  }
  const skew = clockSkewMs === undefined ? {} : { clockSkewMs };
  if (at > received + opts.maxFutureSkewMs) {
    return { timestamp: opts.receivedAt.toISOString(), ...skew, clampedFrom: opts.timestamp };
  }
  return { timestamp: new Date(at).toISOString(), ...skew };
}

/** Keys the service sets in metadata; a client's own values for them are replaced or removed. */
const SERVICE_KEYS = new Set(['client', 'app', 'timestamp_clamped', 'original_timestamp', 'clock_skew_ms']);

/**
 * The event's metadata with the client info added. What the event says about its page and
 * language wins over the request headers, which name the page that sent the batch.
 */
export function enrichMetadata(
  metadata: Record<string, unknown> | undefined,
  info: ClientInfo,
  extra: { app?: string; time: CorrectedTime },
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in metadata) if (!SERVICE_KEYS.has(key)) out[key] = metadata[key];
  if (out.page_url === undefined && info.referer !== undefined) out.page_url = info.referer;
  if (out.language === undefined && info.language !== undefined) out.language = info.language;
  out.client = info.client;
  if (extra.app !== undefined) out.app = extra.app;
  if (extra.time.clockSkewMs !== undefined) out.clock_skew_ms = extra.time.clockSkewMs;
  if (extra.time.clampedFrom !== undefined) {
    out.timestamp_clamped = true;
    out.original_timestamp = extra.time.clampedFrom;
  }
  return out;
}
