import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_ENV, backendEvent, bearer, frontendEvent, hs256 } from './auth-tokens.js';
import { eventually } from './helpers.js';
import { capturingLogger, startApp } from './in-process-app.js';

const WRITE_KEY = `pk_shop_${randomUUID()}`;

describe('authentication with bearer tokens and write keys', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  const { log, lines } = capturingLogger('trace');
  const tokensSeen: string[] = [];

  beforeAll(async () => {
    ({ app, close } = await startApp(
      { ...AUTH_ENV, WRITE_KEYS: `shop:${WRITE_KEY},blog:pk_blog_${randomUUID()}`, LOG_LEVEL: 'trace' },
      log,
    ));
  });
  afterAll(async () => {
    await close();
    // Whatever happened above, no token or key reached the logs.
    const logs = lines.join('');
    expect(logs).toContain('authentication enabled');
    for (const secret of [...tokensSeen, WRITE_KEY, AUTH_ENV.AUTH_JWT_SECRET]) expect(logs).not.toContain(secret);
  });

  const token = async (claims: Record<string, unknown>, opts?: Parameters<typeof hs256>[1]) => {
    const t = await hs256(claims, opts);
    tokensSeen.push(t);
    return t;
  };
  const create = (headers: Record<string, string>, body: unknown = backendEvent()) =>
    app.inject({
      method: 'POST',
      url: '/api/events/create',
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });
  const collect = (headers: Record<string, string>, payload: string) =>
    app.inject({ method: 'POST', url: '/api/frontend/events', headers, payload });

  function expectUnauthorized(res: Awaited<ReturnType<typeof create>>, reason: RegExp) {
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="event-service"/);
    const body = res.json();
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toMatch(reason);
    expect(body.request_id).toBeTruthy();
  }

  describe('bearer tokens', () => {
    it('refuses a request without a token', async () => {
      expectUnauthorized(await create({}), /bearer token is required/);
    });

    it.each([
      ['a malformed token', () => 'Bearer not-a-jwt', /malformed/],
      ['another scheme', () => 'Basic dXNlcjpwYXNz', /not a Bearer token/],
      [
        'an expired token',
        async () => `Bearer ${await token({ scope: 'events:write' }, { exp: Math.floor(Date.now() / 1000) - 3600 })}`,
        /expired/,
      ],
      [
        'a wrong signature',
        async () => `Bearer ${await token({ scope: 'events:write' }, { secret: `other-secret-${randomUUID()}` })}`,
        /signature/,
      ],
      ['a wrong issuer', async () => `Bearer ${await token({ scope: 'events:write' }, { iss: 'https://evil.example' })}`, /issuer/],
      ['a wrong audience', async () => `Bearer ${await token({ scope: 'events:write' }, { aud: 'another-service' })}`, /audience/],
    ])('refuses %s with 401', async (_name, header, reason) => {
      const res = await create({ authorization: await header() });
      expectUnauthorized(res, reason);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it('refuses a valid token without the scope with 403', async () => {
      for (const scope of ['events:read', 'events:admin', 'openid profile']) {
        const res = await create(bearer(await token({ scope })));
        expect(res.statusCode).toBe(403);
        expect(res.json().error.code).toBe('forbidden');
        expect(res.headers['www-authenticate']).toContain('error="insufficient_scope", scope="events:write"');
      }
    });

    it('accepts a token with the scope, and an admin token reads the stored event', async () => {
      const event = backendEvent();
      const res = await create(bearer(await token({ scope: 'openid events:write' })), event);
      expect(res.statusCode).toBe(202);
      expect(res.json().event_id).toBe(event.event_id);

      const reader = bearer(await token({ scope: 'events:admin' }));
      const stored = await eventually<any>(
        async () => {
          const r = await app.inject({ method: 'GET', url: `/api/events/${event.event_id}`, headers: reader });
          return r.statusCode === 200 ? r.json() : undefined;
        },
        30_000,
        'the event to be stored',
      );
      expect(stored.data).toEqual({ n: 1 });
    });

    it('accepts scopes in an scp array', async () => {
      const res = await create(bearer(await token({ scp: ['events:write'] })));
      expect(res.statusCode).toBe(202);
    });

    it('does not let a write token read', async () => {
      const res = await app.inject({
        method: 'GET',
        url: `/api/events/${randomUUID()}`,
        headers: bearer(await token({ scope: 'events:write' })),
      });
      expect(res.statusCode).toBe(403);
    });

    it('leaves public routes open', async () => {
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).not.toBe(401);
      expect((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
    });
  });

  describe('write keys on POST /api/frontend/events', () => {
    it('accepts a key in X-Write-Key and records its app in the event metadata', async () => {
      const event = frontendEvent();
      const res = await collect({ 'content-type': 'application/json', 'x-write-key': WRITE_KEY }, JSON.stringify(event));
      expect(res.statusCode).toBe(202);
      const reader = bearer(await token({ scope: 'events:read' }));
      const stored = await eventually<any>(
        async () => {
          const r = await app.inject({ method: 'GET', url: `/api/events/${event.event_id}`, headers: reader });
          return r.statusCode === 200 ? r.json() : undefined;
        },
        30_000,
        'the event to be stored',
      );
      expect(stored.metadata.app).toBe('shop');
      expect(JSON.stringify(stored)).not.toContain(WRITE_KEY);
    });

    it('accepts a write_key field in a JSON body, single or batch', async () => {
      const single = await collect({ 'content-type': 'application/json' }, JSON.stringify(frontendEvent({ write_key: WRITE_KEY })));
      expect(single.statusCode).toBe(202);
      const batch = await collect(
        { 'content-type': 'application/json' },
        JSON.stringify({ write_key: WRITE_KEY, events: [frontendEvent(), frontendEvent()] }),
      );
      expect(batch.statusCode).toBe(202);
      expect(batch.json().accepted).toBe(2);
    });

    it('accepts a sendBeacon body: text/plain holding JSON with write_key', async () => {
      const res = await collect(
        { 'content-type': 'text/plain;charset=UTF-8' },
        JSON.stringify({ write_key: WRITE_KEY, events: [frontendEvent()] }),
      );
      expect(res.statusCode).toBe(202);
      expect(res.json().accepted).toBe(1);
    });

    it('answers malformed JSON in a text/plain body with 400', async () => {
      const res = await collect({ 'content-type': 'text/plain' }, `{"write_key": "${WRITE_KEY}", "events": [`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('malformed_json');
    });

    it('refuses a wrong key in the header or the body, and no key at all, with 401', async () => {
      expectUnauthorized(
        await collect({ 'content-type': 'application/json', 'x-write-key': `${WRITE_KEY}x` }, JSON.stringify(frontendEvent())),
        /write key is not valid/,
      );
      expectUnauthorized(
        await collect({ 'content-type': 'text/plain' }, JSON.stringify(frontendEvent({ write_key: 'pk_guess' }))),
        /write key is not valid/,
      );
      expectUnauthorized(
        await collect({ 'content-type': 'application/json' }, JSON.stringify(frontendEvent())),
        /bearer token or a write key/,
      );
    });

    it('also accepts a bearer token with events:write', async () => {
      const res = await collect(
        { 'content-type': 'application/json', ...bearer(await token({ scope: 'events:write' })) },
        JSON.stringify(frontendEvent()),
      );
      expect(res.statusCode).toBe(202);
    });

    it('does not accept write keys on backend routes, nor text/plain bodies there', async () => {
      expectUnauthorized(await create({ 'x-write-key': WRITE_KEY }), /bearer token is required/);
      const plain = await app.inject({
        method: 'POST',
        url: '/api/events/create',
        headers: { 'content-type': 'text/plain', ...bearer(await token({ scope: 'events:write' })) },
        payload: JSON.stringify(backendEvent()),
      });
      expect(plain.statusCode).toBe(415);
      expect(plain.json().error.code).toBe('unsupported_media_type');
    });
  });
});
