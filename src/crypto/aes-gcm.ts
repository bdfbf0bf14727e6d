import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// AES-256-GCM as the service uses it everywhere (Temporal payloads, webhook secrets at rest):
// a fresh 12-byte IV per message, and the layout iv | tag | ciphertext.

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** `aad` (additional authenticated data) binds the sealed bytes to a context: open fails elsewhere. */
export function seal(key: Buffer, clear: Uint8Array, aad?: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(clear), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

/** The clear bytes; throws when the data is too short, tampered, or sealed with another key. */
export function open(key: Buffer, sealed: Uint8Array, aad?: Uint8Array): Buffer {
  const data = Buffer.from(sealed);
  if (data.length < IV_BYTES + TAG_BYTES) throw new Error('sealed data is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}
