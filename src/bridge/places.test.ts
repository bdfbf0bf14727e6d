import { describe, expect, it } from 'vitest';
import { createPlaces } from './places.js';

describe('places for events in progress', () => {
  it('waits while all places are held and wakes when one is released', async () => {
    const places = createPlaces({ max: 2, recheckAfterMs: 1_000, isSettled: async () => false });
    places.take('a');
    places.take('b');
    let woke = false;
    const waiting = places.whenFree().then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(woke).toBe(false);
    places.release('a');
    await waiting;
    expect(places.free).toBe(1);
  });

  it('waits for several free places when asked, and gives up when its signal aborts', async () => {
    const places = createPlaces({ max: 3, recheckAfterMs: 1_000, isSettled: async () => false });
    for (const id of ['a', 'b', 'c']) places.take(id);
    let woke = false;
    const waiting = places.whenFree(undefined, 2).then(() => (woke = true));
    places.release('a');
    await new Promise((r) => setTimeout(r, 10));
    expect(woke).toBe(false);
    places.release('b');
    await waiting;
    expect(places.free).toBe(2);

    places.take('a');
    const started = Date.now();
    await places.whenFree(AbortSignal.timeout(20), 3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(places.free).toBe(1);
  });

  it('frees a long-held place only when Temporal says its event settled', async () => {
    let clock = 0;
    const settled = new Set(['done']);
    const places = createPlaces({ max: 5, recheckAfterMs: 100, isSettled: async (id) => settled.has(id), now: () => clock });
    places.take('done');
    places.take('running');
    places.take('fresh');
    clock = 150;
    places.release('fresh');
    places.take('fresh');
    expect(await places.recheck()).toBe(1);
    expect(places.size).toBe(2);
  });
});
