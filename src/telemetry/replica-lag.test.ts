import { describe, expect, it } from 'vitest';
import { lsnBytes } from './replica-lag.js';

describe('lsnBytes', () => {
  it("reads PostgreSQL's WAL positions, so that their difference is the bytes between them", () => {
    expect(lsnBytes('0/0')).toBe(0);
    expect(lsnBytes('0/3125DF0')).toBe(0x3125df0);
    expect(lsnBytes('16/B374D848') - lsnBytes('16/B374D000')).toBe(0x848);
    expect(lsnBytes('1/0') - lsnBytes('0/FFFFFFFF')).toBe(1);
  });
});
