import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { open, seal } from '../crypto/aes-gcm.js';
import type { KeyRing } from '../crypto/key-ring.js';

// A stream's snapshot holds the events as they were published: redacted, but with the fields of
// ENCRYPTED_FIELDS in clear (the stream itself is not encrypted). So that a set carries only
// ciphertext of them, each snapshot file is sealed whole, as it is written, under a data key of
// its own, and that key is wrapped by the payload key ring's current key (envelope encryption, as
// the fields are in PostgreSQL). The file's name is bound in, so a sealed file cannot stand in for
// another. A set restores wherever its key is still in the ring.

export const sealingSchema = z.object({ key_id: z.string(), wrapped_key: z.string(), iv: z.string(), tag: z.string() });
export type Sealing = z.infer<typeof sealingSchema>;

export interface ChunkCipher {
  update(chunk: Uint8Array): Buffer;
}

/** Seals a file chunk by chunk; `final` gives the last bytes and what the manifest keeps to open it. */
export function fileSealer(ring: KeyRing, name: string): ChunkCipher & { final(): { tail: Buffer; sealing: Sealing } } {
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(Buffer.from(name));
  return {
    update: (chunk) => cipher.update(chunk),
    final() {
      const tail = cipher.final();
      const wrapped = seal(ring.keys.get(ring.currentKeyId)!, dataKey, Buffer.from(name));
      const sealing = {
        key_id: ring.currentKeyId,
        wrapped_key: wrapped.toString('base64'),
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      };
      return { tail, sealing };
    },
  };
}

/**
 * Opens a sealed file chunk by chunk. `final` throws when the file is not what was sealed: the
 * caller must not treat what it passed on as whole before then.
 */
export function fileOpener(ring: KeyRing | undefined, name: string, sealing: Sealing): ChunkCipher & { final(): void } {
  const key = ring?.keys.get(sealing.key_id);
  if (!key)
    throw new Error(
      `${name} is sealed with payload key "${sealing.key_id}", which is not in PAYLOAD_KEYS: add it to the ring to restore this set`,
    );
  const dataKey = open(key, Buffer.from(sealing.wrapped_key, 'base64'), Buffer.from(name));
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sealing.iv, 'base64'));
  decipher.setAAD(Buffer.from(name));
  decipher.setAuthTag(Buffer.from(sealing.tag, 'base64'));
  return {
    update: (chunk) => decipher.update(chunk),
    final() {
      try {
        decipher.final();
      } catch {
        throw new Error(`${name} does not open with its key: the file or its manifest entry was changed`);
      }
    },
  };
}
