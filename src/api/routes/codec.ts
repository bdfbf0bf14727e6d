import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type FieldCrypto, fieldCryptoFor } from '../../crypto/field-crypto.js';
import { createPayloadCodec, keylessCodec, PayloadDecryptionError } from '../../temporal/codec.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError } from '../errors.js';

// Temporal's remote codec protocol, so the Temporal UI (and `temporal --codec-endpoint`) can show
// decrypted payloads to operators: POST {endpoint}/decode and {endpoint}/encode with Payloads as
// protobuf JSON (bytes in base64). The browser calls it from the UI's origin: the CORS plugin
// answers for /codec with CODEC_CORS_ORIGINS.

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'base64');
const jsonPayload = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
});
const payloads = z.object({ payloads: z.array(jsonPayload) });
type JsonPayload = z.infer<typeof jsonPayload>;

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  ...(data && { data: Buffer.from(data, 'base64') }),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  ...(data?.length && { data: Buffer.from(data).toString('base64') }),
});

// Temporal holds the event in clear inside its encrypted payloads: what it decodes to is masked
// like the API's reads for a token without events:decrypt.
function masked(fields: FieldCrypto, payload: Payload): Payload {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  if (!encoding || Buffer.from(encoding).toString() !== 'json/plain' || !payload.data) return payload;
  return { ...payload, data: Buffer.from(JSON.stringify(fields.mask(JSON.parse(Buffer.from(payload.data).toString('utf8'))))) };
}

export const codecRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'config'>> = async (app, { config }) => {
  const codec = createPayloadCodec(config) ?? keylessCodec;
  const fields = config.encryptedFields.length > 0 ? fieldCryptoFor(config) : undefined;

  for (const op of ['encode', 'decode'] as const) {
    const description = `Temporal remote codec: ${op}s payloads (protobuf JSON, bytes in base64) for the Temporal UI or \`temporal --codec-endpoint\`.`;
    app.post(
      `/codec/${op}`,
      { config: { scope: 'events:admin' }, schema: { description, body: payloads, response: { 200: payloads } } },
      async (req) => {
        // The UI names its namespace; the CLI sends the header empty.
        const namespace = req.headers['x-namespace'];
        if (typeof namespace === 'string' && namespace !== '' && namespace !== config.temporal.namespace) {
          throw new HttpError(400, 'wrong_namespace', `this codec serves namespace "${config.temporal.namespace}", not "${namespace}"`);
        }
        try {
          let done = await codec[op](req.body.payloads.map(fromJson));
          if (op === 'decode' && fields && req.fieldView !== 'clear') done = done.map((p) => masked(fields, p));
          return { payloads: done.map(toJson) };
        } catch (err) {
          if (err instanceof PayloadDecryptionError) throw new HttpError(400, 'codec_error', err.message);
          throw err;
        }
      },
    );
  }
};
