import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentEventId } from '../src/events/segment.js';
import { startAnswerDroppingProxy } from './answer-dropping-proxy.js';
import { eventually, expectStoredAndProcessedOnce, get, testPool, testTemporal, waitForStatus } from './helpers.js';
import { startApp } from './in-process-app.js';

// Segment's and RudderStack's own Node libraries, from npm and unchanged, against an API with
// write keys (built in this process on the test stack's NATS, Temporal and PostgreSQL; the
// stack's worker processes what it publishes). Each checks what their users would: the events
// are stored once and completed, mapped as docs/segment.md says, once however often the client
// retries, and the answers the libraries act on.

const SHOP_KEY = `wk_shop_${randomUUID()}`;
const run = randomUUID().slice(0, 8);

let app: FastifyInstance;
let close: () => Promise<void>;
let apiUrl: string;
let pool: pg.Pool;
let temporal: Client;

beforeAll(async () => {
  ({ app, close } = await startApp({ WRITE_KEYS: `shop:${SHOP_KEY}` }));
  apiUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  pool = testPool();
  temporal = await testTemporal();
});
afterAll(async () => {
  await close();
  await pool.end();
  await temporal.connection.close();
});

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const postRaw = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: basic(SHOP_KEY), 'content-type': 'application/json', ...headers },
    body,
  });

describe('@segment/analytics-node', () => {
  it('sends a batch that is stored once, completed, and mapped', async () => {
    const statuses: number[] = [];
    const analytics = new SegmentAnalytics({ writeKey: SHOP_KEY, host: apiUrl, path: '/v1/batch', flushAt: 3, maxRetries: 2 });
    analytics.on('http_response', (r) => statuses.push(r.status));
    const ids = { track: `t-${run}`, identify: `i-${run}`, page: `p-${run}` };
    const userId = `seg-user-${run}`;
    analytics.track({ userId, event: 'Order Completed', properties: { revenue: 42.5, currency: 'EUR' }, messageId: ids.track });
    analytics.identify({ userId, traits: { plan: 'pro', password: 'hunter2' }, messageId: ids.identify });
    analytics.page({ anonymousId: `anon-${run}`, name: 'Pricing', properties: { path: '/pricing' }, messageId: ids.page });
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(statuses).toEqual([200]);

    const trackId = segmentEventId('shop', ids.track);
    await expectStoredAndProcessedOnce(pool, temporal, trackId);
    const track = (await get(`/api/events/${trackId}`)).body;
    expect(track).toMatchObject({
      event_type: 'order_completed',
      event_source: 'frontend',
      event_category: 'business_action',
      user_id: userId,
      data: { revenue: 42.5, currency: 'EUR' },
      metadata: {
        app: 'shop',
        segment: {
          type: 'track',
          event: 'Order Completed',
          messageId: ids.track,
          context: { library: { name: '@segment/analytics-node' } },
        },
      },
    });
    expect(track.metadata.segment.sentAt).toEqual(expect.any(String));

    const identify = await waitForStatus(segmentEventId('shop', ids.identify), 'completed');
    expect(identify).toMatchObject({
      event_type: 'identify',
      event_category: 'system_event',
      data: { plan: 'pro', password: '[REDACTED]' },
    });
    const page = await waitForStatus(segmentEventId('shop', ids.page), 'completed');
    expect(page).toMatchObject({
      event_type: 'page_view',
      user_id: `anon-${run}`,
      data: { path: '/pricing' },
      metadata: { segment: { name: 'Pricing' } },
    });

    // The read side: the user's timeline, by userId and by anonymousId.
    const timeline = (await get(`/api/users/${userId}/events`)).body;
    expect(timeline.items.map((e: { event_type: string }) => e.event_type).sort()).toEqual(['identify', 'order_completed']);
    expect((await get(`/api/users/anon-${run}/events`)).body.items).toHaveLength(1);
  });

  it('retries when the answer is lost, and the retried batch is stored once', async () => {
    const proxy = await startAnswerDroppingProxy(apiUrl, 1);
    try {
      const analytics = new SegmentAnalytics({ writeKey: SHOP_KEY, host: proxy.url, path: '/v1/batch', flushAt: 2, maxRetries: 3 });
      const messageIds = [`r1-${run}`, `r2-${run}`];
      for (const messageId of messageIds) analytics.track({ anonymousId: `anon-r-${run}`, event: 'Signed Up', messageId });
      await analytics.closeAndFlush({ timeout: 20_000 });
      expect(proxy.seen.map((s) => [s.apiStatus, s.clientStatus])).toEqual([
        [200, 503],
        [200, 200],
      ]);
      for (const messageId of messageIds) await expectStoredAndProcessedOnce(pool, temporal, segmentEventId('shop', messageId));
    } finally {
      await proxy.close();
    }
  });
});

describe('@rudderstack/rudder-sdk-node', () => {
  it('sends gzipped batches that are stored once and completed, with the session read from context', async () => {
    const client = new RudderAnalytics(SHOP_KEY, { dataPlaneUrl: apiUrl, flushAt: 10, flushInterval: 60_000, logLevel: 'error' });
    const sessionId = `rs-${run}`;
    const messageIds = [`rs1-${run}`, `rs2-${run}`];
    const userId = `rudder-user-${run}`;
    // messageId is honoured by the library, though its types leave it out.
    client.track({
      userId,
      event: `Product Viewed ${run}`,
      properties: { sku: 'A-1' },
      context: { sessionId },
      messageId: messageIds[0],
    } as never);
    client.screen({ userId, name: 'Checkout', context: { sessionId }, messageId: messageIds[1] } as never);
    await new Promise<void>((resolve, reject) => void client.flush((err?: Error) => (err ? reject(err) : resolve())));

    const [viewed, screen] = await Promise.all(messageIds.map((id) => waitForStatus(segmentEventId('shop', id), 'completed')));
    expect(viewed).toMatchObject({ event_type: `product_viewed_${run}`, session_id: sessionId, data: { sku: 'A-1' } });
    expect(screen).toMatchObject({
      event_type: 'screen_view',
      event_category: 'user_interaction',
      metadata: { segment: { name: 'Checkout' } },
    });
    const session = await eventually(async () => {
      const res = await get(`/api/sessions/${sessionId}`);
      return res.status === 200 && res.body.events.length === 2 ? res.body : undefined;
    });
    expect(session).toMatchObject({ user_ids: [userId], event_count: 2 });
    for (const id of messageIds) await expectStoredAndProcessedOnce(pool, temporal, segmentEventId('shop', id));
    // The statistics count it under its event type.
    const day = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
    const next = new Date(Date.parse(day) + 86_400_000).toISOString();
    await eventually(async () => {
      const res = await get(`/api/stats/event-types?from=${day}&to=${next}&granularity=day&event_type=product_viewed_${run}`);
      return res.body.total === 1 ? true : undefined;
    });
  });
});

describe('answers, as the libraries read them', () => {
  const track = (extra: Record<string, unknown> = {}) => ({
    type: 'track',
    event: 'Clicked',
    anonymousId: `a-${run}`,
    messageId: randomUUID(),
    ...extra,
  });

  it('200 with the count of each outcome; a bad message in a batch is rejected alone', async () => {
    const good = track();
    const res = await postRaw(
      '/v1/batch',
      JSON.stringify({ batch: [good, { type: 'track', anonymousId: 'a' }, track({ properties: { pad: 'x'.repeat(33_000) } })] }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { errors: { index: number; errors: { path: string }[] }[] };
    expect(body).toMatchObject({ success: true, accepted: 1, duplicates: 0, rejected: 2 });
    expect(body.errors.map((e: { index: number; errors: { path: string }[] }) => [e.index, e.errors[0]!.path])).toEqual([
      [1, 'event'],
      [2, '(message)'],
    ]);
    await waitForStatus(segmentEventId('shop', good.messageId), 'completed');
    const again = await (await postRaw('/v1/batch', JSON.stringify({ batch: [good] }))).json();
    expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('400 for invalid JSON, for a batch with no valid message, for a bad single call', async () => {
    expect((await postRaw('/v1/batch', '{"batch": [')).status).toBe(400);
    expect((await postRaw('/v1/batch', JSON.stringify({ batch: [{ type: 'track' }] }))).status).toBe(400);
    const single = await postRaw('/v1/track', JSON.stringify({ anonymousId: 'a' }));
    expect(single.status).toBe(400);
    expect(((await single.json()) as { error: { details: { path: string }[] } }).error.details[0]!.path).toBe('event');
  });

  it('413 for a batch over 500 KB or a single call over 32 KB, as Segment limits them', async () => {
    const big = JSON.stringify({ batch: Array.from({ length: 20 }, () => track({ properties: { pad: 'x'.repeat(30_000) } })) });
    expect((await postRaw('/v1/batch', big)).status).toBe(413);
    expect((await postRaw('/v1/track', JSON.stringify(track({ properties: { pad: 'x'.repeat(33_000) } })))).status).toBe(413);
  });

  it('takes the write key from the body, text/plain and gzip bodies, and refuses an unknown key with 401', async () => {
    const inBody = track({ writeKey: SHOP_KEY });
    const res = await fetch(`${apiUrl}/v1/t`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(inBody) });
    expect(res.status).toBe(200);
    const stored = await waitForStatus(segmentEventId('shop', inBody.messageId), 'completed');
    expect(JSON.stringify(stored)).not.toContain(SHOP_KEY);
    const zipped = await postRaw('/v1/batch', gzipSync(JSON.stringify({ batch: [track()] })), { 'content-encoding': 'gzip' });
    expect(zipped.status).toBe(200);
    expect((await postRaw('/v1/track', JSON.stringify(track()), { authorization: basic('wk_unknown') })).status).toBe(401);
    // JSON whatever the Content-Type says, or without one.
    for (const contentType of ['application/octet-stream', undefined]) {
      const res = await fetch(`${apiUrl}/v1/track`, {
        method: 'POST',
        headers: { authorization: basic(SHOP_KEY), ...(contentType && { 'content-type': contentType }) },
        body: new TextEncoder().encode(JSON.stringify(track())),
      });
      expect(res.status, contentType ?? 'no content type').toBe(200);
    }
  });

  it('503 with Retry-After when JetStream cannot take the calls, so the libraries retry', async () => {
    const down = await startApp({ WRITE_KEYS: `shop:${SHOP_KEY}` });
    try {
      await down.connected.nc.close();
      const headers = { authorization: basic(SHOP_KEY) };
      for (const [url, payload] of [
        ['/v1/track', track()],
        ['/v1/batch', { batch: [track(), track()] }],
      ] as const) {
        const res = await down.app.inject({ method: 'POST', url, headers, payload });
        expect(res.statusCode, url).toBe(503);
        expect(res.headers['retry-after'], url).toBeDefined();
      }
    } finally {
      await down.close();
    }
  });

  it('answers hostile bodies with a 4xx, never a 5xx', async () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const cases: [string, string][] = [
      ['/v1/batch', `{"batch":[{"type":"track","event":"x","anonymousId":"a","properties":{"p":${deep(200_000)}}}]}`],
      ['/v1/batch', `{"batch":${deep(200_000)}}`],
      ['/v1/track', `{"event":"x","anonymousId":"a","properties":{"p":${deep(15_000)}}}`],
      ['/v1/batch', '{"batch":[{"type":"track","event":"x","anonymousId":"a\u0000"}]}'],
      ['/v1/batch', '{"batch":"no"}'],
      ['/v1/batch', '[]'],
      ['/v1/track', 'null'],
      ['/v1/track', ''],
    ];
    for (const [path, body] of cases) {
      const res = await postRaw(path, body);
      expect(res.status, `${path} ${body.slice(0, 60)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${path} ${body.slice(0, 60)}`).toBeLessThan(500);
    }
    const gzipLie = await postRaw('/v1/batch', '{"batch":[]}', { 'content-encoding': 'gzip' });
    expect(gzipLie.status).toBe(400);
    expect((await postRaw('/v1/batch', '{}', { 'content-encoding': 'br' })).status).toBe(415);
  });

  it('429 with Retry-After past the rate limit', async () => {
    const limited = await startApp({ WRITE_KEYS: `shop:${SHOP_KEY}`, RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW: '1m' });
    try {
      const send = () =>
        limited.app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: basic(SHOP_KEY) }, payload: track() });
      expect((await send()).statusCode).toBe(200);
      expect((await send()).statusCode).toBe(200);
      const refused = await send();
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
