import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, seal } from './aes-gcm.js';

describe('aes-gcm', () => {
  it('never repeats an IV, across several refills of the IV pool, and every sealed message opens', () => {
    const key = randomBytes(32);
    const ivs = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const clear = Buffer.from(`message ${i}`);
      const sealed = seal(key, clear);
      ivs.add(sealed.subarray(0, 12).toString('hex'));
      expect(open(key, sealed)).toEqual(clear);
    }
    expect(ivs.size).toBe(1_000);
  });

  it('refuses a sealed message whose bytes were changed', () => {
    const key = randomBytes(32);
    const sealed = seal(key, Buffer.from('hello'));
    sealed[sealed.length - 1]! ^= 1;
    expect(() => open(key, sealed)).toThrow();
  });
});
