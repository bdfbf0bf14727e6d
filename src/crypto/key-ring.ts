import { ConfigError } from '../config.js';

// The AES-256-GCM keys the service seals with (Temporal payloads, webhook secrets at rest), by id:
// data stays readable for as long as its key is in the ring, which is what makes rotation work.

const KEY_BYTES = 32;

export interface KeyRing {
  keys: ReadonlyMap<string, Buffer>;
  currentKeyId: string;
}

/** The ring from `PAYLOAD_KEYS`/`PAYLOAD_KEY_ID`; the current key defaults to the last one listed. */
export function createKeyRing(settings: { keys: readonly { id: string; key: string }[]; currentKeyId?: string | undefined }): KeyRing {
  const keys = new Map<string, Buffer>();
  const problems: string[] = [];
  for (const { id, key } of settings.keys) {
    const bytes = Buffer.from(key, 'base64');
    if (!id) problems.push('a key has no id (write keys as id:base64key)');
    else if (keys.has(id)) problems.push(`key id "${id}" is listed twice`);
    else if (bytes.length !== KEY_BYTES || bytes.toString('base64') !== key)
      problems.push(`key "${id}" is not ${KEY_BYTES} bytes of base64`);
    else keys.set(id, bytes);
  }
  const currentKeyId = settings.currentKeyId ?? settings.keys.at(-1)?.id ?? '';
  if (settings.keys.length === 0) problems.push('no keys');
  else if (!keys.has(currentKeyId) && !problems.length) problems.push(`PAYLOAD_KEY_ID "${currentKeyId}" is not in PAYLOAD_KEYS`);
  if (problems.length)
    throw new ConfigError(`Invalid payload encryption keys (PAYLOAD_KEYS):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return { keys, currentKeyId };
}
