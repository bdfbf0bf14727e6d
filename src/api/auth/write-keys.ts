import { createHash, timingSafeEqual } from 'node:crypto';

export interface WriteKey {
  app: string;
  key: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Publishable write keys, one or more per app. Keys are compared as SHA-256 digests with
 * timingSafeEqual, against every configured key, so neither the length nor the prefix of a valid
 * key leaks through response times.
 */
export function createWriteKeys(keys: readonly WriteKey[]) {
  keys.forEach(({ app, key }, i) => {
    if (!app || !key) throw new Error(`WRITE_KEYS entry ${i + 1} is not of the form app:key`);
  });
  const entries = keys.map(({ app, key }) => ({ app, digest: digest(key) }));
  return {
    size: entries.length,
    /** The app the key belongs to, or undefined when it is not a configured key. */
    appFor(candidate: string): string | undefined {
      const d = digest(candidate);
      let found: string | undefined;
      for (const e of entries) {
        if (timingSafeEqual(e.digest, d) && found === undefined) found = e.app;
      }
      return found;
    },
  };
}

export type WriteKeys = ReturnType<typeof createWriteKeys>;
