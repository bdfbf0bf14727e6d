import { randomUUID } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, post, stack, waitForStatus } from './helpers.js';
import { startApp } from './in-process-app.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36';
const uid = () => randomUUID().replaceAll('-', '').slice(0, 12);
const click = (extra: object = {}) => ({ event_type: 'button_click', category: 'user_interaction', data: { button: 'buy' }, ...extra });

describe('POST /api/frontend/events, one event', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    nc = await connect({ servers: stack().natsUrl });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc.close();
  });

  it('is accepted, enriched with client info, skew-corrected, and stored without its write key', async () => {
    const eventType = `fe_${uid()}`;
    const clientNow = Date.now() - 3_600_000; // the browser's clock is an hour behind
    const res = await post(
      '/api/frontend/events',
      click({
        event_type: eventType,
        user_id: 'u-fe-1',
        session_id: 's-fe-1',
        timestamp: new Date(clientNow - 5_000).toISOString(),
        sent_at: new Date(clientNow).toISOString(),
        metadata: { sdk: { name: 'event-sdk-web', version: '1.4.2' }, referrer: 'https://search.example/?q=shoes', ab_group: 'b' },
        write_key: 'wk_not_a_real_key',
      }),
      {
        'user-agent': CHROME,
        referer: 'https://shop.example/p/42',
        'accept-language': 'fr-CH, fr;q=0.9',
        'x-forwarded-for': '203.0.113.66',
      },
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'pending', subject: `events.frontend.user_interaction.${eventType}`, duplicate: false });
    const id = res.body.event_id as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);

    const stored = await waitForStatus(id, 'completed');
    expect(stored).toMatchObject({
      event_source: 'frontend',
      event_category: 'user_interaction',
      event_type: eventType,
      user_id: 'u-fe-1',
      session_id: 's-fe-1',
      data: { button: 'buy' },
    });
    expect(stored.metadata).toMatchObject({
      page_url: 'https://shop.example/p/42',
      referrer: 'https://search.example/?q=shoes',
      language: 'fr-CH',
      sdk: { name: 'event-sdk-web', version: '1.4.2' },
      ab_group: 'b',
      // X-Forwarded-For from a peer that is not a trusted proxy is ignored.
      client: {
        ip: '127.0.0.1',
        user_agent: CHROME,
        browser: { name: 'Chrome', version: '125.0.0.0' },
        os: { name: 'Windows', version: '10' },
        device: { type: 'desktop' },
      },
    });
    expect(stored.metadata.clock_skew_ms).toBeGreaterThan(3_590_000);
    expect(Date.parse(stored.received_at) - Date.parse(stored.timestamp)).toBe(5_000);
    expect(stored.metadata).not.toHaveProperty('timestamp_clamped');

    const msg = await jsm.streams.getMessage('EVENTS', { last_by_subj: res.body.subject });
    const inStream = new TextDecoder().decode(msg!.data);
    expect(JSON.parse(inStream).event_id).toBe(id);
    for (const text of [inStream, JSON.stringify(stored)]) expect(text).not.toContain('wk_not_a_real_key');
  });

  it('clamps a timestamp far in the future to received_at and flags it', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const res = await post('/api/frontend/events', click({ timestamp: future }));
    expect(res.status).toBe(202);
    const stored = await waitForStatus(res.body.event_id, 'completed');
    expect(stored.timestamp).toBe(stored.received_at);
    expect(stored.metadata).toMatchObject({ timestamp_clamped: true, original_timestamp: future });
  });

  it('prefers the page and language the event names over the request headers', async () => {
    const res = await post('/api/frontend/events', click({ metadata: { page_url: 'https://app.example/#/step/2', language: 'de' } }), {
      referer: 'https://app.example/',
      'accept-language': 'en-US',
    });
    const stored = await waitForStatus(res.body.event_id, 'completed');
    expect(stored.metadata).toMatchObject({ page_url: 'https://app.example/#/step/2', language: 'de' });
  });
});

describe('POST /api/frontend/events, refused input', () => {
  const names: [string, object][] = [
    ['a dot in event_type', { event_type: 'page.view' }],
    ['a * in event_type', { event_type: 'page*' }],
    ['a > in event_type', { event_type: '>' }],
    ['a space in event_type', { event_type: 'page view' }],
    ['unicode in event_type', { event_type: 'pagé_view' }],
    ['an event_type over 100 characters', { event_type: 'x'.repeat(101) }],
    ['a category that is not one of the three', { category: 'service' }],
    ['a category with a dot', { category: 'user_interaction.x' }],
    ['no category', { category: undefined }],
  ];

  it.each(names)('refuses %s with 400 naming the field', async (_name, change) => {
    const res = await post('/api/frontend/events', click(change));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual([Object.keys(change)[0]]);
  });

  it('refuses an unknown field, naming it, rather than dropping it', async () => {
    const res = await post('/api/frontend/events', click({ colour: 'red' }));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: '(root)', unknown_fields: ['colour'] })]);
  });

  it.each([
    ['malformed JSON', '{"event_type": "x",', 400, 'malformed_json'],
    ['a JSON array', '[{"event_type":"x","category":"system_event"}]', 400, 'validation_error'],
    ['a batch whose events is not an array', '{"events": {}}', 400, 'validation_error'],
    ['a batch with an unknown field', '{"events": [], "colour": "red"}', 400, 'validation_error'],
    ['an empty batch', '{"events": []}', 400, 'validation_error'],
  ])('refuses %s', async (_name, body, status, code) => {
    const res = await post('/api/frontend/events', body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
  });

  it('refuses a body over the size limit with 413', async () => {
    const res = await post('/api/frontend/events', click({ data: { blob: 'x'.repeat(1024 * 1024) } }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});

describe('POST /api/frontend/events, batches', () => {
  it('accepts the good events of a partly bad batch, with one answer per position', async () => {
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const res = await post('/api/frontend/events', {
      events: [
        click({ event_id: ids[0] }),
        click({ event_id: ids[1], event_type: 'add.to.cart' }),
        click({ event_id: ids[2], colour: 'red' }),
        { event_type: 'checkout', category: 'business_action', data: { total: 12 } },
        click({ event_id: ids[4], category: 'events.>' }),
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 3 });
    const [r0, r1, r2, r3, r4] = res.body.results;
    expect(r0).toEqual({ index: 0, status: 'accepted', event_id: ids[0], subject: 'events.frontend.user_interaction.button_click' });
    expect(r1).toMatchObject({ index: 1, status: 'rejected', errors: [expect.objectContaining({ path: 'event_type' })] });
    expect(r2).toMatchObject({ index: 2, status: 'rejected', errors: [expect.objectContaining({ unknown_fields: ['colour'] })] });
    expect(r3).toMatchObject({ index: 3, status: 'accepted', subject: 'events.frontend.business_action.checkout' });
    expect(r3.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(r4).toMatchObject({ index: 4, status: 'rejected', errors: [expect.objectContaining({ path: 'category' })] });

    await waitForStatus(ids[0]!, 'completed');
    expect((await waitForStatus(r3.event_id, 'completed')).data).toEqual({ total: 12 });
    for (const refused of [ids[1], ids[2], ids[4]]) expect((await get(`/api/events/${refused}`)).status).toBe(404);
  });

  it('answers 400 with every reason when no event of the batch is valid', async () => {
    const res = await post('/api/frontend/events', { events: [click({ event_type: 'a b' }), click({ category: 'x' })] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.details).toEqual([
      { index: 0, errors: [expect.objectContaining({ path: 'event_type' })] },
      { index: 1, errors: [expect.objectContaining({ path: 'category' })] },
    ]);
  });

  it('refuses a batch of more events than allowed with 413, storing none', async () => {
    const id = randomUUID();
    const res = await post('/api/frontend/events', { events: [click({ event_id: id }), ...Array.from({ length: 500 }, () => click())] });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'too_many_events', details: { max: 500, received: 501 } });
    expect((await get(`/api/events/${id}`)).status).toBe(404);
  });
});

describe('POST /api/frontend/events when JetStream cannot take events', () => {
  it('answers 503 with Retry-After, never 202, and says which events of a batch were not stored', async () => {
    const api = await startApp();
    try {
      await api.connected.nc.close();
      const single = await api.app.inject({ method: 'POST', url: '/api/frontend/events', payload: click() });
      expect(single.statusCode).toBe(503);
      expect(single.headers['retry-after']).toBe('5');
      expect(single.json().error.code).toBe('stream_unavailable');

      const batch = await api.app.inject({
        method: 'POST',
        url: '/api/frontend/events',
        payload: { events: [click(), click({ event_type: 'a.b' })] },
      });
      expect(batch.statusCode).toBe(503);
      expect(batch.headers['retry-after']).toBe('5');
      const { error } = batch.json();
      expect(error.code).toBe('stream_unavailable');
      expect(error.details).toMatchObject({
        accepted: 0,
        rejected: 1,
        failed: 1,
        results: [
          { index: 0, status: 'failed' },
          { index: 1, status: 'rejected' },
        ],
      });
    } finally {
      await api.close();
    }
  });
});

describe('POST /api/frontend/events behind a trusted proxy, with write keys', () => {
  it('records the forwarded client address and the key app, and never the key', async () => {
    const api = await startApp({ TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8', WRITE_KEYS: 'shop:wk_shop_0123456789' });
    try {
      const id = randomUUID();
      // As navigator.sendBeacon sends it: text/plain, the key in the body.
      const res = await api.app.inject({
        method: 'POST',
        url: '/api/frontend/events',
        remoteAddress: '127.0.0.1',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'x-forwarded-for': '198.51.100.20, 10.0.0.5', 'user-agent': CHROME },
        payload: JSON.stringify({ events: [click({ event_id: id })], write_key: 'wk_shop_0123456789' }),
      });
      expect(res.statusCode).toBe(202);
      const stored = await waitForStatus(id, 'completed');
      expect(stored.metadata).toMatchObject({ app: 'shop', client: { ip: '198.51.100.20' } });
      expect(JSON.stringify(stored)).not.toContain('wk_shop_0123456789');

      // A forged leftmost hop is not believed, nor X-Forwarded-For from a peer that is no proxy of ours.
      const ipSeen = async (remoteAddress: string, forwardedFor: string) => {
        const eventId = randomUUID();
        const r = await api.app.inject({
          method: 'POST',
          url: '/api/frontend/events',
          remoteAddress,
          headers: { 'x-write-key': 'wk_shop_0123456789', 'x-forwarded-for': forwardedFor },
          payload: click({ event_id: eventId }),
        });
        expect(r.statusCode).toBe(202);
        return (await waitForStatus(eventId, 'completed')).metadata.client.ip;
      };
      expect(await ipSeen('127.0.0.1', '1.1.1.1, 203.0.113.9, 10.9.9.9')).toBe('203.0.113.9');
      expect(await ipSeen('198.51.100.7', '203.0.113.1')).toBe('198.51.100.7');
    } finally {
      await api.close();
    }
  });
});
