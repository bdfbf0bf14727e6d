import { type DataConverter, METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { type Config, ConfigError } from '../config.js';
import { open, seal } from '../crypto/aes-gcm.js';
import { createKeyRing, type KeyRing } from '../crypto/key-ring.js';

// Every payload the service hands to Temporal (workflow input, query results, signal arguments,
// activity input and output) is encrypted with AES-256-GCM before it leaves the process, so event
// data never sits in clear in Temporal's database. The key id travels in the payload metadata:
// a payload stays readable for as long as its key is in the ring, which is what makes rotation work.

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const ProtoPayload = proto.temporal.api.common.v1.Payload;

/** A payload the codec cannot turn back into clear data: unknown key, tampered or truncated bytes. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

export function createEncryptionCodec(ring: KeyRing): PayloadCodec {
  const text = new TextEncoder();
  const currentKey = ring.keys.get(ring.currentKeyId)!;
  const currentKeyIdBytes = text.encode(ring.currentKeyId);
  const encodingBytes = text.encode(ENCRYPTED_ENCODING);

  const encrypt = (payload: Payload): Payload => ({
    metadata: { [METADATA_ENCODING_KEY]: encodingBytes, [KEY_ID_METADATA]: currentKeyIdBytes },
    data: seal(currentKey, ProtoPayload.encode(payload).finish()),
  });

  const decrypt = (payload: Payload): Payload => {
    const metadata = payload.metadata ?? {};
    const encoding = metadata[METADATA_ENCODING_KEY];
    if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
    const keyIdBytes = metadata[KEY_ID_METADATA];
    if (!keyIdBytes) throw new PayloadDecryptionError(`an encrypted payload has no ${KEY_ID_METADATA} metadata`);
    const keyId = Buffer.from(keyIdBytes).toString();
    const key = ring.keys.get(keyId);
    if (!key) throw new PayloadDecryptionError(`payload encrypted with key "${keyId}", which is not in PAYLOAD_KEYS`);
    let clear: Buffer;
    try {
      clear = open(key, payload.data ?? new Uint8Array());
    } catch (err) {
      throw new PayloadDecryptionError(
        (err as Error).message.includes('too short')
          ? 'encrypted payload is too short'
          : `payload encrypted with key "${keyId}" failed authentication: tampered, or the key was replaced`,
      );
    }
    return ProtoPayload.decode(clear);
  };

  return {
    encode: async (payloads) => payloads.map(encrypt),
    decode: async (payloads) => payloads.map(decrypt),
  };
}

/**
 * The codec of every Temporal client and worker of the service. Without keys there is none
 * (payloads in clear) outside production; in production a missing or bad key ring stops the
 * process, because starting would write event data to Temporal in clear.
 */
export function createPayloadCodec(config: Pick<Config, 'env' | 'payloadCodec'>): PayloadCodec | undefined {
  if (config.payloadCodec.keys.length === 0) {
    if (config.env === 'production') {
      throw new ConfigError(
        'PAYLOAD_KEYS is not set. In production every Temporal payload is encrypted: set PAYLOAD_KEYS=keyId:base64key ' +
          '(a 32-byte key, e.g. `openssl rand -base64 32`) and optionally PAYLOAD_KEY_ID.',
      );
    }
    return undefined;
  }
  return createEncryptionCodec(createKeyRing(config.payloadCodec));
}

export function createDataConverter(config: Pick<Config, 'env' | 'payloadCodec'>): DataConverter | undefined {
  const codec = createPayloadCodec(config);
  return codec && { payloadCodecs: [codec] };
}

/** For a process without keys: leaves clear payloads alone and says why it cannot open the others. */
export const keylessCodec: PayloadCodec = {
  encode: async (payloads) => payloads,
  decode: async (payloads) =>
    payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (encoding && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING) {
        throw new PayloadDecryptionError('payload is encrypted, but this process has no PAYLOAD_KEYS');
      }
      return payload;
    }),
};
