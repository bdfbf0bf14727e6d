import type { z } from 'zod';
import type { EventEnvelope } from './envelope.js';

// A batch is judged item by item: one bad event must not cost the good ones, and each input
// position gets its own answer. Every batch endpoint (our own, Segment's, CloudEvents') plans
// its batch here; each says only how one item becomes an envelope.

export interface ItemError {
  path: string;
  message: string;
  unknown_fields?: string[];
}

export type ItemResult =
  | { index: number; status: 'accepted'; event_id: string; subject: string }
  | { index: number; status: 'duplicate'; event_id: string }
  | { index: number; status: 'rejected'; errors: ItemError[] }
  | { index: number; status: 'failed'; event_id: string; error: string };

/** `tooLarge`: the event was not sent, it can never fit in a stream message; a retry cannot help. */
export type Outcome = { ok: true; subject: string; duplicate: boolean } | { ok: false; error: string; tooLarge?: boolean };

export interface PlannedBatch {
  /** The events to publish, first occurrence of each id only. */
  toPublish: EventEnvelope[];
  /** Fills in the answers once the publishes are settled, in the order of `toPublish`. */
  settle(outcomes: readonly Outcome[]): ItemResult[];
  rejected: Extract<ItemResult, { status: 'rejected' }>[];
}

export function toItemErrors(error: z.ZodError): ItemError[] {
  return error.issues.map((i) => ({
    path: i.path.join('.') || '(root)',
    message: i.message,
    ...(i.code === 'unrecognized_keys' && { unknown_fields: i.keys }),
  }));
}

/** Validates and builds one item of a batch: its envelope, or why it can never be one. */
export type ItemBuilder = (item: unknown, index: number) => EventEnvelope | ItemError[];

/**
 * Builds each item. An id repeated inside the batch is published once; its later positions share
 * the first one's fate (duplicate if that one was stored, failed if not).
 */
export function planBatch(items: readonly unknown[], build: ItemBuilder): PlannedBatch {
  const results: ItemResult[] = new Array(items.length);
  const rejected: PlannedBatch['rejected'] = [];
  const toPublish: EventEnvelope[] = [];
  const publishedAt: number[] = [];
  const firstById = new Map<string, number>();
  const repeats: [index: number, first: number][] = [];

  items.forEach((item, index) => {
    const event = build(item, index);
    if (Array.isArray(event)) {
      const r = { index, status: 'rejected' as const, errors: event };
      results[index] = r;
      rejected.push(r);
      return;
    }
    const first = firstById.get(event.event_id);
    if (first !== undefined) {
      repeats.push([index, first]);
      return;
    }
    firstById.set(event.event_id, index);
    toPublish.push(event);
    publishedAt.push(index);
  });

  return {
    toPublish,
    rejected,
    settle(outcomes) {
      outcomes.forEach((o, k) => {
        const index = publishedAt[k]!;
        const event_id = toPublish[k]!.event_id;
        results[index] = !o.ok
          ? o.tooLarge
            ? { index, status: 'rejected', errors: [{ path: '(event)', message: o.error }] }
            : { index, status: 'failed', event_id, error: o.error }
          : o.duplicate
            ? { index, status: 'duplicate', event_id }
            : { index, status: 'accepted', event_id, subject: o.subject };
      });
      for (const [index, first] of repeats) {
        const r = results[first]!;
        results[index] =
          r.status === 'failed' || r.status === 'rejected' ? { ...r, index } : { index, status: 'duplicate', event_id: r.event_id };
      }
      return results;
    },
  };
}
