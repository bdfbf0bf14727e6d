import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyRing } from './key-ring.js';
import { createSecretBox } from './secret-box.js';

const key = () => randomBytes(32).toString('base64');

describe('secret box', () => {
  it('seals a secret so that the stored text does not contain it, and opens it with any key of the ring', () => {
    const k1 = key();
    const old = createSecretBox(createKeyRing({ keys: [{ id: 'k1', key: k1 }] }));
    const stored = old.seal('a-long-shared-secret');
    expect(stored).not.toContain('a-long-shared-secret');
    const rotated = createSecretBox(
      createKeyRing({
        keys: [
          { id: 'k1', key: k1 },
          { id: 'k2', key: key() },
        ],
      }),
    );
    expect(rotated.open(stored)).toBe('a-long-shared-secret');
    expect(rotated.seal('x')).toMatch(/^sealed:v1:k2:/);
  });

  it('reads a secret stored before sealing as it is, and refuses one sealed with an unknown key', () => {
    const box = createSecretBox(createKeyRing({ keys: [{ id: 'k9', key: key() }] }));
    expect(box.open('plain-old-secret')).toBe('plain-old-secret');
    const other = createSecretBox(createKeyRing({ keys: [{ id: 'k1', key: key() }] })).seal('s');
    expect(() => box.open(other)).toThrow(/key "k1"/);
  });
});
