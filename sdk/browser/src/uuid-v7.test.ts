import { describe, expect, it } from 'vitest';
import { uuidv7, uuidv7Time } from './uuid-v7.js';

const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('has the version and variant bits and carries its time', () => {
    const at = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
    const id = uuidv7(at);
    expect(id).toMatch(shape);
    expect(uuidv7Time(id)).toBe(at);
  });

  it('sorts in creation order within one millisecond and across a clock step back', () => {
    const at = Date.now() + 10_000;
    const ids = [uuidv7(at), uuidv7(at), uuidv7(at), uuidv7(at - 5), uuidv7(at + 1)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stays ordered when the counter overflows', () => {
    const at = Date.now() + 20_000;
    const zeros = (n: number) => new Uint8Array(n).fill(0xff);
    const ids = Array.from({ length: 5000 }, () => uuidv7(at, zeros));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
