import type { ItemError, QueuedEvent } from './types.js';

// How the service answered one batch, turned into what the queue must do. The rule that keeps
// events from being lost: an event leaves the queue only when the service said it is stored
// (accepted, duplicate) or that it can never be stored (rejected). Everything else is retried.

export interface Settled {
  accepted: string[];
  duplicates: string[];
  rejected: { event: QueuedEvent; errors: ItemError[] }[];
  /** Events to send again. */
  retry: QueuedEvent[];
  /** Why a retry is needed (for reports), when `retry` is not empty. */
  reason?: string;
  /** The batch was too large for the service: send fewer events per request. */
  shrink?: boolean;
  /** The request can never succeed as configured (bad write key): retry slowly and say so. */
  fatal?: string;
}

interface ItemResult {
  index: number;
  status: 'accepted' | 'duplicate' | 'rejected' | 'failed';
  errors?: ItemError[];
}

const isItemResults = (v: unknown): v is ItemResult[] =>
  Array.isArray(v) &&
  v.every(
    (r) =>
      r !== null && typeof r === 'object' && typeof (r as ItemResult).index === 'number' && typeof (r as ItemResult).status === 'string',
  );

function perItem(batch: readonly QueuedEvent[], results: readonly ItemResult[], reason: string): Settled {
  const out: Settled = { accepted: [], duplicates: [], rejected: [], retry: [] };
  const byIndex = new Map(results.map((r) => [r.index, r]));
  batch.forEach((event, i) => {
    const r = byIndex.get(i);
    if (r?.status === 'accepted') out.accepted.push(event.event_id);
    else if (r?.status === 'duplicate') out.duplicates.push(event.event_id);
    else if (r?.status === 'rejected') out.rejected.push({ event, errors: r.errors ?? [] });
    else out.retry.push(event);
  });
  if (out.retry.length > 0) out.reason = reason;
  return out;
}

const retryAll = (batch: readonly QueuedEvent[], reason: string, extra: Partial<Settled> = {}): Settled => ({
  accepted: [],
  duplicates: [],
  rejected: [],
  retry: [...batch],
  reason,
  ...extra,
});

/** `body` is the parsed JSON answer, or undefined when it was not JSON. */
export function settleBatch(batch: readonly QueuedEvent[], status: number, body: unknown): Settled {
  const b = (body ?? {}) as { results?: unknown; error?: { code?: string; message?: string; details?: unknown } };
  if (status === 202 && isItemResults(b.results)) return perItem(batch, b.results, 'unanswered');

  const code = b.error?.code;
  const details = b.error?.details as { results?: unknown } | unknown[] | undefined;
  if (status === 503 && details && !Array.isArray(details) && isItemResults(details.results)) {
    // stream_unavailable: some events are stored, the `failed` ones are not.
    return perItem(batch, details.results, 'HTTP 503 stream_unavailable');
  }
  if (status === 400 && code === 'validation_error' && Array.isArray(details)) {
    // "no event in the batch is valid": details name every position with its errors.
    const results = details.filter(
      (d): d is { index: number; errors: ItemError[] } =>
        d !== null && typeof d === 'object' && typeof (d as { index?: unknown }).index === 'number',
    );
    if (results.length === batch.length)
      return perItem(
        batch,
        results.map((r) => ({ ...r, status: 'rejected' as const })),
        'HTTP 400',
      );
  }
  if (status === 413) {
    if (batch.length > 1) return retryAll(batch, `HTTP 413 ${code ?? ''}`.trim(), { shrink: true });
    if (isItemResults(details)) return perItem(batch, details, 'HTTP 413');
    return {
      accepted: [],
      duplicates: [],
      rejected: [
        { event: batch[0]!, errors: [{ path: '(event)', message: b.error?.message ?? 'the event is too large for the service' }] },
      ],
      retry: [],
    };
  }
  if (status === 401 || status === 403) {
    return retryAll(batch, `HTTP ${status}`, {
      fatal: `the service refused the write key (HTTP ${status}${code ? ` ${code}` : ''}): ${b.error?.message ?? ''}`.trim(),
    });
  }
  // 429, 503, other 5xx, and answers this SDK does not understand (a proxy's 400, say): keep and retry.
  return retryAll(batch, `HTTP ${status}${code ? ` ${code}` : ''}`);
}
