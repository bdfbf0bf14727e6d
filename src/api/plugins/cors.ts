import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../app-deps.js';

// An empty list allows no browser origin at all; `*` allows any (no credentials are ever sent:
// browsers authenticate with a bearer token or a write key, never with cookies).
function origins(list: readonly string[]): FastifyCorsOptions['origin'] {
  if (list.length === 0) return false;
  return list.includes('*') ? '*' : [...list];
}

const common: FastifyCorsOptions = {
  methods: ['GET', 'HEAD', 'POST', 'DELETE'],
  // x-retry-count: Segment's analytics.js numbers its retries in it.
  allowedHeaders: ['content-type', 'authorization', 'x-write-key', 'x-request-id', 'x-namespace', 'x-retry-count'],
  exposedHeaders: ['retry-after', 'x-request-id', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
  maxAge: 600,
};

/**
 * Which browser origins may call the API: CORS_ORIGINS for the API, and CODEC_CORS_ORIGINS
 * (the Temporal UI) for the payload codec endpoint under /codec. Registered before auth so that
 * preflights are answered without credentials and refusals still carry the CORS headers a page
 * needs to read them.
 */
export const corsPlugin = fp(
  async (app: FastifyInstance, { config }: Pick<AppDeps, 'config'>) => {
    const api = { ...common, origin: origins(config.ingest.corsOrigins) };
    const codec = { ...common, origin: origins(config.payloadCodec.corsOrigins) };
    await app.register(cors, {
      hook: 'onRequest',
      delegator: (req, cb) => cb(null, req.url === '/codec' || req.url.startsWith('/codec/') ? codec : api),
    });
  },
  { name: 'cors' },
);
