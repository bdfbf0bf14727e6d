import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigError } from '../../config.js';
import type { FieldView } from '../../crypto/field-crypto.js';
import type { AppDeps } from '../app-deps.js';
import { bearerToken, createJwtVerifier, type JwtVerifier, KeysUnavailable, type TokenClaims } from '../auth/jwt.js';
import { grants } from '../auth/scope-claims.js';
import { createWriteKeys } from '../auth/write-keys.js';
import { dependencyDown, HttpError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The app whose publishable write key authenticated this request. */
    writeKeyApp: string | undefined;
    /** The `sub` claim of the bearer token that authenticated this request. */
    tokenSubject: string | undefined;
    /** How this caller sees the encrypted fields: in clear with `events:decrypt` (or an open API), else masked. */
    fieldView: FieldView;
  }
}

const CHALLENGE = 'Bearer realm="event-service"';

function unauthorized(reply: FastifyReply, message: string, tokenError = false): HttpError {
  const detail = tokenError ? `, error="invalid_token", error_description="${message}"` : '';
  void reply.header('www-authenticate', CHALLENGE + detail);
  return new HttpError(401, 'unauthorized', message);
}

async function checkToken(verify: JwtVerifier, authorization: string, reply: FastifyReply): Promise<TokenClaims> {
  const token = bearerToken(authorization);
  if (!token) throw unauthorized(reply, 'the Authorization header is not a Bearer token', true);
  try {
    return await verify(token);
  } catch (err) {
    if (err instanceof KeysUnavailable) throw dependencyDown('the identity provider', err.message);
    throw unauthorized(reply, (err as Error).message, true);
  }
}

const isTextPlain = (req: FastifyRequest) => req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === 'text/plain';

/** Removes the write key field from a JSON body (so body schemas never see it, nor is it stored) and returns it. */
function takeBodyKey(body: unknown, field: string): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body) || !Object.hasOwn(body, field)) return undefined;
  const key = (body as Record<string, unknown>)[field];
  delete (body as Record<string, unknown>)[field];
  return key;
}

/**
 * The user name of HTTP Basic credentials: Segment's and RudderStack's libraries send their write
 * key so, with an empty password.
 */
function basicUser(authorization: string | undefined): string | undefined {
  if (!authorization || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? decoded : decoded.slice(0, colon);
}

/**
 * Who may call what. Routes name the scope they need in `config.scope` (none: public) and may
 * accept a publishable write key instead of a token (`config.acceptsWriteKey`). With nothing
 * configured the API is open, which only development and test allow.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, { config, log }: Pick<AppDeps, 'config' | 'log'>) => {
    const { auth } = config;
    const writeKeys = createWriteKeys(auth.writeKeys);
    const verify =
      auth.jwtSecret || auth.jwksUrl
        ? createJwtVerifier({ secret: auth.jwtSecret, jwksUrl: auth.jwksUrl, issuer: auth.issuer, audience: auth.audience })
        : undefined;
    const open = !verify && writeKeys.size === 0;

    if (open && config.env === 'production') {
      throw new ConfigError(
        'No authentication is configured and NODE_ENV=production: set AUTH_JWT_SECRET or AUTH_JWKS_URL (and WRITE_KEYS for browsers). The API refuses to run open in production.',
      );
    }
    if (open) {
      log.warn(
        { env: config.env },
        'NO AUTHENTICATION CONFIGURED: THE API IS OPEN to anyone who can reach it. Set AUTH_JWT_SECRET or AUTH_JWKS_URL (and WRITE_KEYS for browsers) before exposing it; NODE_ENV=production refuses to start like this.',
      );
    } else {
      if (!verify) log.warn('only write keys are configured: routes that need a bearer token refuse every request');
      log.info(
        {
          hs256: Boolean(auth.jwtSecret),
          jwksUrl: auth.jwksUrl,
          issuer: auth.issuer,
          audience: auth.audience,
          writeKeyApps: [...new Set(auth.writeKeys.map((k) => k.app))],
        },
        'authentication enabled',
      );
    }

    app.decorateRequest('writeKeyApp', undefined);
    app.decorateRequest('tokenSubject', undefined);
    app.decorateRequest('fieldView', 'masked');
    // navigator.sendBeacon cannot set headers, so browsers send JSON as text/plain; parse it as JSON.
    app.removeContentTypeParser('text/plain');
    app.addContentTypeParser('text/plain', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

    const useWriteKey = (req: FastifyRequest, reply: FastifyReply, key: unknown) => {
      const owner = typeof key === 'string' ? writeKeys.appFor(key) : undefined;
      if (!owner) throw unauthorized(reply, 'the write key is not valid');
      req.writeKeyApp = owner;
    };
    const awaitingBodyKey = new WeakSet<FastifyRequest>();

    app.addHook('onRequest', async (req, reply) => {
      const { scope, acceptsWriteKey } = req.routeOptions.config;
      if (open) req.fieldView = 'clear';
      if (!scope || open) return;
      const authorization = req.headers.authorization;
      const basicKey = acceptsWriteKey && writeKeys.size > 0 ? basicUser(authorization) : undefined;
      if (basicKey !== undefined) return useWriteKey(req, reply, basicKey);
      if (verify && authorization !== undefined) {
        const claims = await checkToken(verify, authorization, reply);
        req.tokenSubject = claims.subject;
        if (grants(claims.scopes, 'events:decrypt')) req.fieldView = 'clear';
        if (!grants(claims.scopes, scope)) {
          void reply.header('www-authenticate', `${CHALLENGE}, error="insufficient_scope", scope="${scope}"`);
          throw new HttpError(403, 'forbidden', `the token does not carry the scope ${scope}`);
        }
        return;
      }
      if (acceptsWriteKey && writeKeys.size > 0) {
        const key = req.headers['x-write-key'];
        if (key !== undefined) return useWriteKey(req, reply, key);
        // sendBeacon requests carry the key in the body, which is not parsed yet.
        awaitingBodyKey.add(req);
        return;
      }
      if (authorization !== undefined) throw unauthorized(reply, 'bearer tokens are not accepted: no JWT verification is configured');
      throw unauthorized(reply, 'a bearer token is required');
    });

    app.addHook('preValidation', async (req, reply) => {
      if (!req.routeOptions.config.acceptsWriteKey) {
        // A text/plain body is a browser's beacon; elsewhere it would only let pages post cross-site without a preflight.
        if (isTextPlain(req) && req.body !== undefined && !req.is404 && !req.routeOptions.config.textPlainIsData)
          throw new HttpError(415, 'unsupported_media_type', 'send JSON as application/json');
        return;
      }
      const key = takeBodyKey(req.body, req.routeOptions.config.bodyWriteKeyField ?? 'write_key');
      if (!awaitingBodyKey.has(req)) return;
      if (key === undefined) throw unauthorized(reply, 'a bearer token or a write key is required');
      useWriteKey(req, reply, key);
    });
  },
  { name: 'auth' },
);
