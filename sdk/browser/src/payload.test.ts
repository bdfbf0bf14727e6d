import { expect, it } from 'vitest';
import { batchBody, byteLength, exitBodies } from './payload.js';
import type { QueuedEvent } from './types.js';

const ev = (n: number, text = ''): QueuedEvent => ({
  event_id: `id-${n}`,
  event_type: 'click',
  category: 'user_interaction',
  data: { text },
  metadata: {},
  timestamp: '2026-12-01T00:00:00.000Z',
});
const at = '2026-12-01T00:00:01.000Z';

it('stamps sent_at on every event and carries the write key only when given', () => {
  const body = JSON.parse(batchBody([ev(1), ev(2)], at));
  expect(body.events.map((e: { sent_at: string }) => e.sent_at)).toEqual([at, at]);
  expect(body).not.toHaveProperty('write_key');
  expect(JSON.parse(batchBody([ev(1)], at, 'pk')).write_key).toBe('pk');
});

it('splits page-exit bodies under the byte limit, in order, counting multi-byte characters', () => {
  const events = Array.from({ length: 40 }, (_, i) => ev(i, 'é'.repeat(200)));
  const bodies = exitBodies(events, at, 'pk', 2000);
  expect(bodies.length).toBeGreaterThan(1);
  for (const b of bodies) {
    expect(byteLength(b.body)).toBeLessThanOrEqual(2000);
    expect(JSON.parse(b.body).write_key).toBe('pk');
  }
  expect(bodies.flatMap((b) => b.events.map((e) => e.event_id))).toEqual(events.map((e) => e.event_id));
});

it('leaves out an event too large for any page-exit body', () => {
  const bodies = exitBodies([ev(1), ev(2, 'x'.repeat(5000)), ev(3)], at, 'pk', 2000);
  expect(bodies.flatMap((b) => b.events.map((e) => e.event_id))).toEqual(['id-1', 'id-3']);
});
