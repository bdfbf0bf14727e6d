import type { Config } from '../config.js';
import { createKeyRing, type KeyRing } from './key-ring.js';
import { open, seal } from './aes-gcm.js';

// Secrets the service must keep but never show (webhook signing secrets) are sealed at rest with
// the payload key ring (PAYLOAD_KEYS), so a database dump does not hand them out. A value stored
// before sealing existed is read as it is.

const PREFIX = 'sealed:v1:';

export interface SecretBox {
  seal(secret: string): string;
  open(stored: string): string;
}

export function createSecretBox(ring: KeyRing | undefined): SecretBox {
  return {
    seal(secret) {
      if (!ring) return secret;
      const sealed = seal(ring.keys.get(ring.currentKeyId)!, Buffer.from(secret, 'utf8'));
      return `${PREFIX}${ring.currentKeyId}:${sealed.toString('base64')}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      const rest = stored.slice(PREFIX.length);
      const at = rest.lastIndexOf(':');
      const keyId = rest.slice(0, at);
      const key = ring?.keys.get(keyId);
      if (!key) throw new Error(`a secret is sealed with key "${keyId}", which is not in PAYLOAD_KEYS`);
      return open(key, Buffer.from(rest.slice(at + 1), 'base64')).toString('utf8');
    },
  };
}

/** The box for this process's key ring; without keys (development only) secrets stay as given. */
export function secretBoxFor(config: Pick<Config, 'payloadCodec'>): SecretBox {
  return createSecretBox(config.payloadCodec.keys.length > 0 ? createKeyRing(config.payloadCodec) : undefined);
}
