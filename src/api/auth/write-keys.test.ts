import { describe, expect, it } from 'vitest';
import { createWriteKeys } from './write-keys.js';

describe('createWriteKeys', () => {
  const keys = createWriteKeys([
    { app: 'shop', key: 'pk_shop_0123456789' },
    { app: 'blog', key: 'pk_blog_abcdef' },
  ]);

  it('finds the app of a configured key', () => {
    expect(keys.appFor('pk_shop_0123456789')).toBe('shop');
    expect(keys.appFor('pk_blog_abcdef')).toBe('blog');
  });

  it('refuses near misses, prefixes and the empty string', () => {
    expect(keys.appFor('pk_shop_012345678')).toBeUndefined();
    expect(keys.appFor('pk_shop_01234567890')).toBeUndefined();
    expect(keys.appFor('PK_SHOP_0123456789')).toBeUndefined();
    expect(keys.appFor('')).toBeUndefined();
  });

  it('rejects an entry without app or key', () => {
    expect(() => createWriteKeys([{ app: '', key: 'x' }])).toThrow(/WRITE_KEYS entry 1/);
    expect(() =>
      createWriteKeys([
        { app: 'a', key: 'k' },
        { app: 'b', key: '' },
      ]),
    ).toThrow(/entry 2/);
  });
});
