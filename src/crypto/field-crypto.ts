import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { open, seal } from './aes-gcm.js';
import { type Config, ConfigError } from '../config.js';
import { createKeyRing, type KeyRing } from './key-ring.js';

// Fields encrypted at rest (ENCRYPTED_FIELDS): envelope encryption. Each event that holds one gets
// its own random data key; every such value (any JSON) is sealed with it, bound to its field's
// name, and the data key is sealed with the ring's current key, bound to the event id, and stored
// beside the row as `keyId:base64`. Rotation needs only the old key kept in the ring; `reseal`
// moves a row under the current key. Names match as redaction's do: case-insensitively, at any
// depth. Lookups use a keyed hash (HMAC-SHA-256 under a key derived from each ring key), never
// the value itself.

export const ENCRYPTED_PLACEHOLDER = '[ENCRYPTED]';
const VALUE_PREFIX = 'encrypted:v1:';
const HASH_BYTES = 16;

type Json = Record<string, unknown>;
export interface FieldsOf {
  event_id: string;
  data: Json;
  metadata: Json;
}
export interface SealedFields {
  data: Json;
  metadata: Json;
  /** The event's data key, sealed: null when the event holds no encrypted field. */
  dataKey: string | null;
  /** Keyed hashes of the encrypted scalar values: null when there are none. */
  fieldHashes: string[] | null;
}
export type FieldView = 'clear' | 'masked';

const isEncrypted = (v: unknown): v is string => typeof v === 'string' && v.startsWith(VALUE_PREFIX);
/** How a value is compared: `Ada@Example.com ` finds `ada@example.com`. */
const normalize = (v: string | number | boolean) => String(v).normalize('NFC').trim().toLowerCase();

/** Any JSON with every configured field, and every sealed value, replaced by the placeholder. */
export function maskFields(value: unknown, fields: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => maskFields(v, fields));
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, inner] of Object.entries(value))
    out[key] = fields.has(key.toLowerCase()) || isEncrypted(inner) ? ENCRYPTED_PLACEHOLDER : maskFields(inner, fields);
  return out;
}

export function createFieldCrypto(ring: KeyRing, fieldNames: readonly string[]) {
  const fields = new Set(fieldNames.map((f) => f.toLowerCase()));
  const indexKeys = new Map(
    [...ring.keys].map(([id, key]) => [id, Buffer.from(hkdfSync('sha256', key, '', 'event-service field index v1', 32))]),
  );
  const kek = (id: string) => {
    const key = ring.keys.get(id);
    if (!key) throw new Error(`an event's fields are sealed with key "${id}", which is not in PAYLOAD_KEYS`);
    return key;
  };
  const hash = (keyId: string, field: string, value: string | number | boolean) =>
    `${keyId}:${createHmac('sha256', indexKeys.get(keyId)!)
      .update(`${field}\0${normalize(value)}`)
      .digest()
      .subarray(0, HASH_BYTES)
      .toString('base64url')}`;

  function sealEvent(e: FieldsOf): SealedFields {
    let dek: Buffer | undefined;
    const hashes = new Set<string>();
    const walk = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(walk);
      if (value === null || typeof value !== 'object') return value;
      const out: Json = {};
      for (const [key, inner] of Object.entries(value)) {
        const name = key.toLowerCase();
        if (!fields.has(name)) {
          out[key] = walk(inner);
          continue;
        }
        dek ??= randomBytes(32);
        out[key] = VALUE_PREFIX + seal(dek, Buffer.from(JSON.stringify(inner)), Buffer.from(name)).toString('base64');
        for (const v of Array.isArray(inner) ? inner : [inner])
          if (['string', 'number', 'boolean'].includes(typeof v)) hashes.add(hash(ring.currentKeyId, name, v as string));
      }
      return out;
    };
    const data = walk(e.data) as Json;
    const metadata = walk(e.metadata) as Json;
    if (!dek) return { data, metadata, dataKey: null, fieldHashes: null };
    const wrapped = seal(kek(ring.currentKeyId), dek, Buffer.from(e.event_id));
    return { data, metadata, dataKey: `${ring.currentKeyId}:${wrapped.toString('base64')}`, fieldHashes: hashes.size ? [...hashes] : null };
  }

  /** The clear values (for the worker, and readers with the scope), or placeholders instead of every encrypted field. */
  function openEvent<T extends FieldsOf>(e: T & { data_key?: string | null }, view: FieldView): T {
    const at = e.data_key?.indexOf(':') ?? -1;
    const dek =
      view === 'clear' && e.data_key && at > 0
        ? open(kek(e.data_key.slice(0, at)), Buffer.from(e.data_key.slice(at + 1), 'base64'), Buffer.from(e.event_id))
        : undefined;
    const reveal = (name: string, stored: string): unknown => {
      if (!dek) return stored;
      try {
        return JSON.parse(open(dek, Buffer.from(stored.slice(VALUE_PREFIX.length), 'base64'), Buffer.from(name)).toString('utf8'));
      } catch {
        return stored; // Not one we sealed (a client's own text that looks like it): shown as stored.
      }
    };
    const walk = (value: unknown): unknown => {
      // Masked hides a configured field even in a row stored in clear before it was configured.
      if (view === 'masked') return maskFields(value, fields);
      if (Array.isArray(value)) return value.map(walk);
      if (value === null || typeof value !== 'object') return value;
      const out: Json = {};
      for (const [key, inner] of Object.entries(value)) out[key] = isEncrypted(inner) ? reveal(key.toLowerCase(), inner) : walk(inner);
      return out;
    };
    const out = { ...e, data: walk(e.data), metadata: walk(e.metadata) } as unknown as Record<string, unknown>;
    delete out.data_key;
    return out as unknown as T;
  }

  /** Whether a stored row differs from what sealing it now would store: another key, or fields configured since. */
  function needsReseal(e: FieldsOf & { data_key: string | null }): boolean {
    if (e.data_key && !e.data_key.startsWith(`${ring.currentKeyId}:`)) return true;
    const stale = (value: unknown): boolean => {
      if (Array.isArray(value)) return value.some(stale);
      if (value === null || typeof value !== 'object') return false;
      return Object.entries(value).some(([key, inner]) => fields.has(key.toLowerCase()) !== isEncrypted(inner) || stale(inner));
    };
    return stale(e.data) || stale(e.metadata);
  }

  return {
    fields: [...fields],
    isEncryptedField: (name: string) => fields.has(name.toLowerCase()),
    mask: (value: unknown) => maskFields(value, fields),
    seal: sealEvent,
    open: openEvent,
    needsReseal,
    /** Sealed again under the current key, with a new data key and fresh hashes. */
    reseal: (e: FieldsOf & { data_key: string | null }) => sealEvent(openEvent(e, 'clear')),
    /** The hashes a stored value of `field` may carry: one per key in the ring, so rows not yet resealed are found. */
    searchHashes: (field: string, value: string) => [...indexKeys.keys()].map((id) => hash(id, field.toLowerCase(), value)),
  };
}

export type FieldCrypto = ReturnType<typeof createFieldCrypto>;

/**
 * The field crypto of this process: with keys, always (rows sealed earlier open even after
 * ENCRYPTED_FIELDS is emptied); without, none, and ENCRYPTED_FIELDS then stops the process.
 */
export function fieldCryptoFor(config: Pick<Config, 'encryptedFields' | 'payloadCodec'>): FieldCrypto | undefined {
  if (config.payloadCodec.keys.length > 0) return createFieldCrypto(createKeyRing(config.payloadCodec), config.encryptedFields);
  if (config.encryptedFields.length > 0)
    throw new ConfigError('ENCRYPTED_FIELDS is set but PAYLOAD_KEYS is not: the fields are encrypted with the payload key ring.');
  return undefined;
}
