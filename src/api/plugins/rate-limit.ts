import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../app-deps.js';
import { HttpError } from '../errors.js';

// Monitoring must see the service even when a client is being throttled.
const EXEMPT = new Set(['/health', '/metrics']);

/** One bucket per caller: the write key's app, else the token's subject, else the client address. */
export function rateLimitKey(req: FastifyRequest): string {
  if (req.writeKeyApp) return `app:${req.writeKeyApp}`;
  if (req.tokenSubject) return `sub:${req.tokenSubject}`;
  return `ip:${req.ip}`;
}

/**
 * RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW per caller, counted in this process. It runs
 * after authentication (which may read a write key from the body), so the caller is known.
 */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, { config }: Pick<AppDeps, 'config'>) => {
    const { max, windowMs } = config.ingest.rateLimit;
    await app.register(rateLimit, {
      global: true,
      hook: 'preValidation',
      max,
      timeWindow: windowMs,
      keyGenerator: rateLimitKey,
      allowList: (req) => EXEMPT.has(req.routeOptions.url ?? ''),
      errorResponseBuilder: (_req, ctx) => {
        const retryAfter = Math.max(1, Math.ceil(ctx.ttl / 1000));
        return new HttpError(
          429,
          'rate_limited',
          `rate limit of ${ctx.max} requests per ${windowMs / 1000} s exceeded; retry in ${retryAfter} s`,
          { limit: ctx.max, window_ms: windowMs },
          retryAfter,
        );
      },
    });
  },
  { name: 'rate-limit', dependencies: ['auth'] },
);
