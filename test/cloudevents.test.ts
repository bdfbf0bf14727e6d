import { randomUUID } from 'node:crypto';
import { CloudEvent, emitterFor, HTTP, httpTransport, Mode } from 'cloudevents';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardWebhookHeaders } from '../src/activities/webhooks.js';
import { cloudEventId } from '../src/events/cloudevent.js';
import { eventually, expectStoredAndProcessedOnce, get, post, stack, testPool, testTemporal, waitForStatus } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

// CloudEvents in, sent by the CloudEvents SDK's own emitter in both modes and as batches, and
// CloudEvents out, read by a subscriber with the SDK's HTTP.toEvent: stored once, completed,
// mapped as docs/cloudevents.md says, and invalid events refused naming the attribute.

const uniqueType = () => `com.example.ce${randomUUID().replaceAll('-', '').slice(0, 10)}.created`;
const slug = (type: string) => type.replaceAll('.', '_');

let pool: pg.Pool;
let temporal: Client;
beforeAll(async () => {
  pool = testPool();
  temporal = await testTemporal();
});
afterAll(async () => {
  await pool.end();
  await temporal.connection.close();
});

const sink = () => `${stack().apiUrl}/api/cloudevents`;

describe('CloudEvents in, from the SDK emitter', () => {
  it.each([Mode.BINARY, Mode.STRUCTURED])('%s mode: stored once, completed, every attribute kept', async (mode) => {
    const emit = emitterFor(httpTransport(sink()), { mode });
    const type = uniqueType();
    const ce = new CloudEvent({
      id: randomUUID(),
      source: '/billing/invoices',
      type,
      subject: 'invoice/42',
      time: '2026-05-01T11:59:00.000Z',
      tenant: 'acme',
      datacontenttype: 'application/json',
      data: { amount: 42, password: 'x' },
    });
    const answer = JSON.parse(((await emit(ce)) as { body: string }).body);
    const id = cloudEventId('/billing/invoices', ce.id);
    expect(answer).toMatchObject({ event_id: id, status: 'pending', subject: `events.backend.service.${slug(type)}`, duplicate: false });
    await expectStoredAndProcessedOnce(pool, temporal, id);
    expect((await get(`/api/events/${id}`)).body).toMatchObject({
      event_type: slug(type),
      event_source: 'backend',
      event_category: 'service',
      data: { amount: 42, password: '[REDACTED]' },
      metadata: {
        cloudevents: {
          specversion: '1.0',
          id: ce.id,
          source: '/billing/invoices',
          type,
          subject: 'invoice/42',
          time: '2026-05-01T11:59:00.000Z',
          datacontenttype: 'application/json',
          tenant: 'acme',
        },
      },
      timestamp: '2026-05-01T11:59:00.000Z',
    });

    // The same event again, as a retrying producer sends it: a duplicate, stored once.
    const again = JSON.parse(((await emit(ce)) as { body: string }).body);
    expect(again).toMatchObject({ event_id: id, duplicate: true });
    await expectStoredAndProcessedOnce(pool, temporal, id);
  });

  it('takes a batch, refusing only its invalid events', async () => {
    const type = uniqueType();
    const good = { specversion: '1.0', id: randomUUID(), source: '/orders', type, data: { n: 1 } };
    const res = await post('/api/cloudevents', JSON.stringify([good, { ...good, id: randomUUID(), source: undefined }]), {
      'content-type': 'application/cloudevents-batch+json',
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 1, rejected: 1 });
    expect(res.body.results[1]).toMatchObject({ status: 'rejected', errors: [{ path: 'source' }] });
    await waitForStatus(cloudEventId('/orders', good.id), 'completed');
  });

  it('takes binary-mode data of any type: text kept as text, bytes as base64', async () => {
    const headers = (id: string) => ({ 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/files', 'ce-type': uniqueType() });
    const [textId, bytesId] = [randomUUID(), randomUUID()];
    const text = await fetch(sink(), { method: 'POST', headers: { ...headers(textId), 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(202);
    const bytes = await fetch(sink(), {
      method: 'POST',
      headers: { ...headers(bytesId), 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 1, 2, 255]),
    });
    expect(bytes.status).toBe(202);
    expect(await waitForStatus(cloudEventId('/files', textId), 'completed')).toMatchObject({ data: { value: 'hello' } });
    expect(await waitForStatus(cloudEventId('/files', bytesId), 'completed')).toMatchObject({ data: { data_base64: 'AAEC/w==' } });
  });

  it.each([
    [
      'binary without ce-source',
      { 'ce-id': '1', 'ce-specversion': '1.0', 'ce-type': 't', 'content-type': 'application/json' },
      '{}',
      'source',
    ],
    [
      'binary with a bad ce-time',
      { 'ce-id': '1', 'ce-specversion': '1.0', 'ce-type': 't', 'ce-source': '/s', 'ce-time': 'noon' },
      '',
      'time',
    ],
    [
      'structured with specversion 0.2',
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"0.2","id":"1","source":"/s","type":"t"}',
      'specversion',
    ],
    ['structured without id', { 'content-type': 'application/cloudevents+json' }, '{"specversion":"1.0","source":"/s","type":"t"}', 'id'],
    ['no CloudEvent at all', { 'content-type': 'application/json' }, '{"event_type":"x"}', 'specversion'],
  ])('400 naming the attribute: %s', async (_what, headers, body, attribute) => {
    const res = await fetch(sink(), { method: 'POST', headers, body });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: { details: { path: string }[] } };
    expect(answer.error.details[0]!.path).toBe(attribute);
  });
});

describe('CloudEvents in, hostile bodies', () => {
  it('answers a 4xx, never a 5xx', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const structured = { 'content-type': 'application/cloudevents+json' };
    const cases: [Record<string, string>, string][] = [
      [structured, `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":${deep}}`],
      [structured, deep],
      [structured, '"just a string"'],
      [{ 'content-type': 'application/cloudevents-batch+json' }, `[${deep}]`],
      [{ 'content-type': 'application/cloudevents-batch+json' }, '{}'],
      [
        {
          'ce-id': '1',
          'ce-specversion': '1.0',
          'ce-source': '/s',
          'ce-type': 't',
          'ce-Bad-Name': 'x',
          'content-type': 'application/json',
        },
        '{}',
      ],
      [{ 'ce-id': '1', 'ce-specversion': '1.0', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' }, deep],
    ];
    for (const [headers, body] of cases) {
      const res = await fetch(sink(), { method: 'POST', headers, body });
      expect(res.status, `${JSON.stringify(headers)} ${body.slice(0, 60)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${JSON.stringify(headers)} ${body.slice(0, 60)}`).toBeLessThan(500);
    }
  });
});

describe('CloudEvents out', () => {
  it.each(['cloudevents-binary', 'cloudevents-structured'] as const)('%s: the SDK reads our delivery, signed as before', async (format) => {
    const receiver = await startReceiver(() => ({ status: 204 }));
    const eventType = `ce_out_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    const secret = `whsec_${Buffer.from(randomUUID()).toString('base64')}`;
    const sub = await post('/api/subscriptions', { url: receiver.url, subjects: [`events.backend.service.${eventType}`], secret, format });
    expect(sub.status).toBe(201);
    expect(sub.body.format).toBe(format);
    try {
      const created = await post('/api/events/create', { event_type: eventType, user_id: 'u-ce', data: { order: 7 } });
      const id = created.body.event_id as string;
      await waitForStatus(id, 'completed');
      const delivery = await eventually(async () => receiver.to(id)[0]);
      const ce = HTTP.toEvent({ headers: delivery.headers, body: delivery.body }) as CloudEvent<Record<string, unknown>>;
      expect(ce).toMatchObject({
        specversion: '1.0',
        id,
        source: '/events/backend/service',
        type: eventType,
        subject: 'u-ce',
        datacontenttype: 'application/json',
      });
      expect(ce.data).toMatchObject({ event_id: id, event_type: eventType, data: { order: 7 } });
      const h = delivery.headers as Record<string, string>;
      expect(h['webhook-signature']).toBe(
        standardWebhookHeaders(id, Number(h['webhook-timestamp']), delivery.body, secret)['webhook-signature'],
      );
    } finally {
      await fetch(`${stack().apiUrl}/api/subscriptions/${sub.body.id}`, { method: 'DELETE' });
      await receiver.close();
    }
  });

  it('delivers an event that came in as a CloudEvent under its own attributes', async () => {
    const receiver = await startReceiver(() => ({ status: 204 }));
    const type = uniqueType();
    const sub = await post('/api/subscriptions', {
      url: receiver.url,
      subjects: [`events.backend.service.${slug(type)}`],
      format: 'cloudevents-binary',
    });
    try {
      const emit = emitterFor(httpTransport(sink()), { mode: Mode.BINARY });
      const ce = new CloudEvent({ id: randomUUID(), source: '/shipping', type, subject: 'parcel/9', region: 'eu', data: { kg: 2 } });
      await emit(ce);
      const id = cloudEventId('/shipping', ce.id);
      await waitForStatus(id, 'completed');
      const delivery = await eventually(async () => receiver.to(id)[0]);
      const out = HTTP.toEvent({ headers: delivery.headers, body: delivery.body }) as CloudEvent<Record<string, unknown>>;
      expect(out).toMatchObject({ id, source: '/shipping', type, subject: 'parcel/9', region: 'eu' });
      expect(out.data).toMatchObject({ event_id: id, data: { kg: 2 } });
    } finally {
      await fetch(`${stack().apiUrl}/api/subscriptions/${sub.body.id}`, { method: 'DELETE' });
      await receiver.close();
    }
  });
});
