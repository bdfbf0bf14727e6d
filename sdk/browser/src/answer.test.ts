import { describe, expect, it } from 'vitest';
import { settleBatch } from './answer.js';
import type { QueuedEvent } from './types.js';

const ev = (n: number): QueuedEvent => ({
  event_id: `id-${n}`,
  event_type: 'click',
  category: 'user_interaction',
  data: {},
  metadata: {},
  timestamp: '2026-12-01T00:00:00.000Z',
});
const batch = [ev(0), ev(1), ev(2)];

describe('settleBatch', () => {
  it('removes accepted, duplicate and rejected events of a 202 and reports the rejected', () => {
    const s = settleBatch(batch, 202, {
      results: [
        { index: 0, status: 'accepted', event_id: 'id-0', subject: 's' },
        { index: 1, status: 'duplicate', event_id: 'id-1' },
        { index: 2, status: 'rejected', errors: [{ path: 'data', message: 'bad' }] },
      ],
    });
    expect(s.accepted).toEqual(['id-0']);
    expect(s.duplicates).toEqual(['id-1']);
    expect(s.rejected).toEqual([{ event: batch[2], errors: [{ path: 'data', message: 'bad' }] }]);
    expect(s.retry).toEqual([]);
  });

  it('keeps only the failed positions of a 503 stream_unavailable', () => {
    const s = settleBatch(batch, 503, {
      error: {
        code: 'stream_unavailable',
        details: {
          results: [
            { index: 0, status: 'accepted' },
            { index: 1, status: 'failed', error: 'timeout' },
            { index: 2, status: 'failed', error: 'timeout' },
          ],
        },
      },
    });
    expect(s.accepted).toEqual(['id-0']);
    expect(s.retry.map((e) => e.event_id)).toEqual(['id-1', 'id-2']);
  });

  it('keeps everything on a 503 or 429 without per-item results, and on answers it does not understand', () => {
    for (const [status, body] of [
      [503, undefined],
      [429, { error: { code: 'rate_limited' } }],
      [502, undefined],
      [400, { error: { code: 'malformed_json' } }],
    ] as const) {
      const s = settleBatch(batch, status, body);
      expect(s.retry).toHaveLength(3);
      expect(s.rejected).toEqual([]);
    }
  });

  it('rejects all only when a 400 names every position', () => {
    const errors = [{ path: 'event_type', message: 'bad' }];
    const all = settleBatch(batch, 400, { error: { code: 'validation_error', details: [0, 1, 2].map((index) => ({ index, errors })) } });
    expect(all.rejected).toHaveLength(3);
    const some = settleBatch(batch, 400, { error: { code: 'validation_error', details: [{ index: 0, errors }] } });
    expect(some.rejected).toEqual([]);
    expect(some.retry).toHaveLength(3);
  });

  it('shrinks a batch the service found too large, and rejects a single event that is', () => {
    expect(settleBatch(batch, 413, { error: { code: 'too_many_events' } }).shrink).toBe(true);
    const one = settleBatch([ev(0)], 413, { error: { code: 'payload_too_large', message: 'too big' } });
    expect(one.rejected).toEqual([{ event: ev(0), errors: [{ path: '(event)', message: 'too big' }] }]);
  });

  it('keeps the events of a refused write key and says why', () => {
    const s = settleBatch(batch, 401, { error: { code: 'unauthorized', message: 'the write key is not valid' } });
    expect(s.retry).toHaveLength(3);
    expect(s.fatal).toMatch(/write key/);
  });
});
