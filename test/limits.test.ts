import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_ENV, backendEvent, bearer, frontendEvent, hs256 } from './auth-tokens.js';
import { startApp } from './in-process-app.js';

const SHOP = 'https://shop.example';

describe('CORS allow-list', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ app, close } = await startApp({ ...AUTH_ENV, WRITE_KEYS: `shop:pk_${randomUUID()}`, CORS_ORIGINS: `${SHOP},https://blog.example` }));
  });
  afterAll(() => close());

  const preflight = (origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/api/frontend/events',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-write-key' },
    });

  it('answers a preflight from an allowed origin for the frontend route with X-Write-Key', async () => {
    const res = await preflight(SHOP);
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase();
    expect(allowed).toContain('x-write-key');
    expect(allowed).toContain('content-type');
  });

  it('gives no allowance to an origin that is not listed', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lets an allowed page read a refusal, Retry-After included', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/frontend/events',
      headers: { origin: SHOP, 'content-type': 'application/json' },
      payload: frontendEvent(),
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(res.headers['access-control-expose-headers'])).toContain('retry-after');
  });
});

describe('rate limits', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  const writeKey = `pk_${randomUUID()}`;
  const otherAppKey = `pk_${randomUUID()}`;
  beforeAll(async () => {
    ({ app, close } = await startApp({
      ...AUTH_ENV,
      WRITE_KEYS: `shop:${writeKey},blog:${otherAppKey}`,
      RATE_LIMIT_MAX: '3',
      RATE_LIMIT_WINDOW: '1m',
    }));
  });
  afterAll(() => close());

  const read = (token: string) => app.inject({ method: 'GET', url: `/api/events/${randomUUID()}`, headers: bearer(token) });

  it('answers 429 with Retry-After once a token subject spent its allowance, other callers unaffected', async () => {
    const alice = await hs256({ scope: 'events:read' }, { sub: `alice-${randomUUID()}` });
    for (let i = 0; i < 3; i++) expect((await read(alice)).statusCode).toBe(404);
    const limited = await read(alice);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const body = limited.json();
    expect(body.error.code).toBe('rate_limited');
    expect(body.request_id).toBeTruthy();

    const bob = await hs256({ scope: 'events:read' }, { sub: `bob-${randomUUID()}` });
    expect((await read(bob)).statusCode).toBe(404);
  });

  it('counts a write key per app, whether sent in the header or the body', async () => {
    const send = (headers: Record<string, string>, body: Record<string, unknown>) =>
      app.inject({
        method: 'POST',
        url: '/api/frontend/events',
        headers: { 'content-type': 'text/plain', ...headers },
        payload: JSON.stringify(body),
      });
    expect((await send({ 'x-write-key': writeKey }, frontendEvent())).statusCode).toBe(202);
    expect((await send({}, frontendEvent({ write_key: writeKey }))).statusCode).toBe(202);
    expect((await send({ 'x-write-key': writeKey }, frontendEvent())).statusCode).toBe(202);
    const limited = await send({}, frontendEvent({ write_key: writeKey }));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    // Same address, another app: its own allowance.
    expect((await send({ 'x-write-key': otherAppKey }, frontendEvent())).statusCode).toBe(202);
  });

  it('counts callers without a key or token subject by address', async () => {
    const anonymous = await hs256({ scope: 'events:read' }, { sub: '' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await read(anonymous)).statusCode);
    expect(statuses).toEqual([404, 404, 404, 429]);
  });

  it('never limits /health', async () => {
    for (let i = 0; i < 6; i++) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).not.toBe(429);
  });
});

describe('when JetStream cannot take events', () => {
  it('answers 503 with Retry-After, never 202', async () => {
    const { app, connected, close } = await startApp(AUTH_ENV);
    try {
      await connected.nc.close();
      const token = await hs256({ scope: 'events:write' });
      const res = await app.inject({ method: 'POST', url: '/api/events/create', headers: bearer(token), payload: backendEvent() });
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.json().error.code).toBe('stream_unavailable');
    } finally {
      await close();
    }
  });
});
