import { describe, expect, it } from 'vitest';
import { findUnstorable, MAX_JSON_DEPTH } from './storable.js';

describe('findUnstorable', () => {
  it('passes ordinary JSON, emoji and right-to-left text included', () => {
    expect(findUnstorable({ a: [1, 'x', { b: null, c: true }], e: '😀 مرحبا', n: 1e300 })).toBeUndefined();
  });

  it('names the path of a NUL in a value or a key', () => {
    expect(findUnstorable({ a: [{ s: 'a\u0000b' }] })).toEqual({ path: ['a', 0, 's'], message: expect.stringContaining('NUL') });
    expect(findUnstorable({ 'k\u0000': 1 })).toEqual({ path: ['k\u0000'], message: expect.stringContaining('key') });
  });

  it('finds lone surrogates but not pairs', () => {
    expect(findUnstorable({ s: '\uD83D' })?.message).toContain('surrogate');
    expect(findUnstorable({ s: 'x\uDE00' })?.message).toContain('surrogate');
    expect(findUnstorable({ s: '\uD83D\uDE00' })).toBeUndefined();
  });

  it('refuses nesting deeper than the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    expect(findUnstorable(deep)?.message).toContain('deeper');
  });
});

describe('toStorableText', () => {
  it('replaces NUL and lone surrogates and keeps text short', async () => {
    const { toStorableText } = await import('./storable.js');
    expect(toStorableText('a\u0000b\uD800c😀')).toBe('a\uFFFDb\uFFFDc😀');
    expect(toStorableText('x'.repeat(50), 10)).toHaveLength(10);
  });
});
