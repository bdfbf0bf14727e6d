import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.js';
import { createKeyRing } from '../crypto/key-ring.js';
import {
  createDataConverter,
  createEncryptionCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  keylessCodec,
  PayloadDecryptionError,
} from './codec.js';

const newKey = () => randomBytes(32).toString('base64');
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (payload: Payload | undefined) => defaultPayloadConverter.fromPayload(payload!);

describe('payload encryption codec', () => {
  const k1 = { id: 'k1', key: newKey() };
  const k2 = { id: 'k2', key: newKey() };

  it('encrypts with the current key and decrypts back to the same payload', async () => {
    const codec = createEncryptionCodec(createKeyRing({ keys: [k1] }));
    const clear = payloadOf({ secret: 'zebra-crossing-42', n: 1 });
    const [encrypted] = await codec.encode([clear]);
    expect(text(encrypted!.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Buffer.from(encrypted!.data!).includes('zebra-crossing-42')).toBe(false);

    const [decrypted] = await codec.decode([encrypted!]);
    expect(text(decrypted!.metadata![METADATA_ENCODING_KEY])).toBe('json/plain');
    expect(valueOf(decrypted)).toEqual({ secret: 'zebra-crossing-42', n: 1 });
  });

  it('uses a fresh IV for each payload', async () => {
    const codec = createEncryptionCodec(createKeyRing({ keys: [k1] }));
    const [a, b] = await codec.encode([payloadOf('same'), payloadOf('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('after rotation encrypts with the new key and still reads payloads of the old one', async () => {
    const before = createEncryptionCodec(createKeyRing({ keys: [k1] }));
    const [old] = await before.encode([payloadOf('written before rotation')]);

    const after = createEncryptionCodec(createKeyRing({ keys: [k1, k2] }));
    const [fresh] = await after.encode([payloadOf('written after rotation')]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');

    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map(valueOf)).toEqual(['written before rotation', 'written after rotation']);
  });

  it('honours PAYLOAD_KEY_ID over the last key listed', () => {
    expect(createKeyRing({ keys: [k1, k2], currentKeyId: 'k1' }).currentKeyId).toBe('k1');
  });

  it('names the missing key when a payload was encrypted with a key no longer in the ring', async () => {
    const [old] = await createEncryptionCodec(createKeyRing({ keys: [k1] })).encode([payloadOf(1)]);
    const withoutK1 = createEncryptionCodec(createKeyRing({ keys: [k2] }));
    await expect(withoutK1.decode([old!])).rejects.toThrow(
      new PayloadDecryptionError('payload encrypted with key "k1", which is not in PAYLOAD_KEYS'),
    );
  });

  it('refuses a tampered ciphertext', async () => {
    const codec = createEncryptionCodec(createKeyRing({ keys: [k1] }));
    const [encrypted] = await codec.encode([payloadOf({ amount: 100 })]);
    const data = Buffer.from(encrypted!.data!);
    data[data.length - 1]! ^= 0x01;
    await expect(codec.decode([{ ...encrypted!, data }])).rejects.toThrow(/failed authentication/);
  });

  it('refuses a payload whose key id was swapped for another key in the ring', async () => {
    const codec = createEncryptionCodec(createKeyRing({ keys: [k1, k2] }));
    const [encrypted] = await codec.encode([payloadOf('x')]);
    const relabelled = { ...encrypted!, metadata: { ...encrypted!.metadata, [KEY_ID_METADATA]: Buffer.from('k1') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(PayloadDecryptionError);
  });

  it('passes payloads that are not encrypted through unchanged', async () => {
    const codec = createEncryptionCodec(createKeyRing({ keys: [k1] }));
    const clear = payloadOf('written before encryption was turned on');
    expect(await codec.decode([clear])).toEqual([clear]);
  });

  it('rejects bad key rings with every problem listed, without echoing key material', () => {
    const short = randomBytes(16).toString('base64');
    const attempt = () =>
      createKeyRing({
        keys: [
          { id: 'a', key: short },
          { id: 'b', key: newKey() },
          { id: 'b', key: newKey() },
        ],
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/key "a" is not 32 bytes of base64[\s\S]*key id "b" is listed twice/);
    expect(attempt).not.toThrow(short);
    expect(() => createKeyRing({ keys: [k1], currentKeyId: 'nope' })).toThrow(/PAYLOAD_KEY_ID "nope" is not in PAYLOAD_KEYS/);
  });

  it('refuses to run in production without keys; elsewhere runs without a codec', () => {
    const noKeys = { keys: [], currentKeyId: undefined, corsOrigins: [] };
    expect(() => createDataConverter({ env: 'production', payloadCodec: noKeys })).toThrow(/PAYLOAD_KEYS is not set/);
    expect(createDataConverter({ env: 'development', payloadCodec: noKeys })).toBeUndefined();
    expect(createDataConverter({ env: 'production', payloadCodec: { ...noKeys, keys: [k1] } })?.payloadCodecs).toHaveLength(1);
  });

  it('without keys, explains why an encrypted payload cannot be read', async () => {
    const [encrypted] = await createEncryptionCodec(createKeyRing({ keys: [k1] })).encode([payloadOf(1)]);
    await expect(keylessCodec.decode([encrypted!])).rejects.toThrow(/no PAYLOAD_KEYS/);
  });
});
