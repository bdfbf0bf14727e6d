import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/**
 * A `preParsing` hook for routes whose clients compress their bodies (RudderStack's libraries
 * gzip every batch). The body limit applies to the body once inflated, so a small bomb is
 * refused like any large body.
 */
export async function inflateRequestBody(req: FastifyRequest, _reply: unknown, payload: Readable): Promise<Readable> {
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return payload;
  if (encoding !== 'gzip')
    throw new HttpError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not supported: send gzip or none`);
  const inflated = Object.assign(payload.pipe(createGunzip()), { receivedEncodedLength: 0 });
  // Fastify compares receivedEncodedLength, not the inflated length, with Content-Length.
  payload.on('data', (chunk: Buffer) => (inflated.receivedEncodedLength += chunk.length));
  payload.on('error', (err) => inflated.destroy(err));
  return inflated;
}
