import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/api/app.js';
import { backendEvent, bearer, hs256 } from './auth-tokens.js';
import { capturingLogger, connectDeps, startApp, testConfig } from './in-process-app.js';

describe('bearer tokens checked against a JWKS (RS256)', () => {
  const kid = `key-${randomUUID()}`;
  let server: Server;
  let app: FastifyInstance;
  let close: () => Promise<void>;
  let sign: (claims: Record<string, unknown>, kidOverride?: string) => Promise<string>;
  let signWithStrangerKey: (claims: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const stranger = await generateKeyPair('RS256');
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
    server = createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    const make =
      (key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']) =>
      (claims: Record<string, unknown>, k = kid) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: k })
          .setSubject('svc-jwks')
          .setIssuer('https://idp.test')
          .setExpirationTime('5m')
          .sign(key);
    sign = make(privateKey);
    signWithStrangerKey = make(stranger.privateKey);
    ({ app, close } = await startApp({ AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: 'https://idp.test' }));
  });
  afterAll(async () => {
    await close();
    await new Promise((resolve) => server.close(resolve));
  });

  const create = (token: string) =>
    app.inject({ method: 'POST', url: '/api/events/create', headers: bearer(token), payload: backendEvent() });

  it('accepts a token signed by a published key', async () => {
    expect((await create(await sign({ scope: 'events:write' }))).statusCode).toBe(202);
  });

  it('refuses a token signed by another key under the same kid', async () => {
    const res = await create(await signWithStrangerKey({ scope: 'events:write' }));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/signature/);
  });

  it('refuses a token whose kid is not published', async () => {
    const res = await create(await sign({ scope: 'events:write' }, 'unknown-kid'));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/no key matches/);
  });

  it('refuses an HS256 token when only a JWKS is configured', async () => {
    const res = await create(await hs256({ scope: 'events:write' }, { iss: 'https://idp.test', secret: `s-${randomUUID()}` }));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/algorithm/);
  });

  it('still checks the scope', async () => {
    expect((await create(await sign({ scope: 'events:read' }))).statusCode).toBe(403);
  });

  it('answers 503 with Retry-After, not 401, when the JWKS cannot be fetched', async () => {
    const unreachable = await startApp({ AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json' });
    try {
      const res = await unreachable.app.inject({
        method: 'POST',
        url: '/api/events/create',
        headers: bearer(await sign({ scope: 'events:write' })),
        payload: backendEvent(),
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await unreachable.close();
    }
  });
});

describe('with no authentication configured', () => {
  // Production also insists on encrypted Temporal payloads.
  const PRODUCTION = { NODE_ENV: 'production', PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}` };

  it('refuses to start with NODE_ENV=production', async () => {
    const config = testConfig(PRODUCTION);
    const connected = await connectDeps(config);
    try {
      await expect(buildApp(connected.deps)).rejects.toThrow(/No authentication is configured and NODE_ENV=production/);
    } finally {
      await connected.close();
    }
  });

  it('runs open in development, and says so loudly at start', async () => {
    const { log, lines } = capturingLogger();
    const { app, close } = await startApp({ NODE_ENV: 'development' }, log);
    try {
      const warning = lines.map((l) => JSON.parse(l)).find((l) => /API IS OPEN/.test(l.msg));
      expect(warning?.level).toBe(40);
      const res = await app.inject({ method: 'POST', url: '/api/events/create', payload: backendEvent() });
      expect(res.statusCode).toBe(202);
    } finally {
      await close();
    }
  });

  it('starts in production with a JWT secret only', async () => {
    const { app, close } = await startApp({ ...PRODUCTION, AUTH_JWT_SECRET: `prod-secret-${randomUUID()}` });
    try {
      expect((await app.inject({ method: 'POST', url: '/api/events/create', payload: backendEvent() })).statusCode).toBe(401);
    } finally {
      await close();
    }
  });
});
