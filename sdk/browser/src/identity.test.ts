import { expect, it } from 'vitest';
import { createIdentity } from './identity.js';

function mapStorage(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: () => null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, v),
  };
}

it('keeps a session while active, starts a new one after 30 idle minutes, shares it through storage', () => {
  let n = 0;
  const storage = mapStorage();
  const make = () => createIdentity({ storage, key: 'k', idleMs: 30 * 60_000, newId: () => `s${++n}` });
  const a = make();
  const t0 = Date.UTC(2026, 11, 1);
  expect(a.session(t0)).toBe('s1');
  expect(a.session(t0 + 29 * 60_000)).toBe('s1');
  // Another tab (or the page after a reload) sees the same session.
  expect(make().session(t0 + 58 * 60_000)).toBe('s1');
  expect(a.session(t0 + 88 * 60_000 + 1)).toBe('s2');
});

it('remembers the user until reset, which also ends the session', () => {
  let n = 0;
  const id = createIdentity({ storage: mapStorage(), key: 'k', idleMs: 1000, newId: () => `s${++n}` });
  id.session(0);
  id.identify('user-7');
  expect(id.userId()).toBe('user-7');
  id.reset();
  expect(id.userId()).toBeUndefined();
  expect(id.session(1)).toBe('s2');
});
