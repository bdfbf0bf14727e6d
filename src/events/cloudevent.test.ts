import { describe, expect, it } from 'vitest';
import { cloudEventEnvelope, cloudEventId } from './cloudevent.js';

const ctx = { receivedAt: new Date('2026-05-01T12:00:00.000Z') };
const base = { specversion: '1.0', id: 'A-1', source: '/billing', type: 'com.example.order.paid' };

describe('CloudEvents as envelopes', () => {
  it('maps the attributes and keeps them all, extensions included', () => {
    const e = cloudEventEnvelope(
      {
        ...base,
        subject: 'order/7',
        time: '2026-05-01T11:59:00Z',
        datacontenttype: 'application/json',
        traceparent: 'x',
        n: 3,
        data: { total: 9 },
      },
      ctx,
    );
    expect(e).toEqual({
      event_id: cloudEventId('/billing', 'A-1'),
      event_type: 'com_example_order_paid',
      event_source: 'backend',
      event_category: 'service',
      data: { total: 9 },
      metadata: {
        cloudevents: {
          specversion: '1.0',
          id: 'A-1',
          source: '/billing',
          type: 'com.example.order.paid',
          subject: 'order/7',
          time: '2026-05-01T11:59:00Z',
          datacontenttype: 'application/json',
          traceparent: 'x',
          n: 3,
        },
      },
      timestamp: '2026-05-01T11:59:00Z',
      received_at: '2026-05-01T12:00:00.000Z',
    });
  });

  it('makes one id of source and id together', () => {
    expect(cloudEventId('/a', '1')).toBe(cloudEventId('/a', '1'));
    expect(cloudEventId('/a', '1')).not.toBe(cloudEventId('/b', '1'));
  });

  it('wraps data that is not an object, keeps binary data as base64, and times the event at receipt without `time`', () => {
    expect(cloudEventEnvelope({ ...base, data: [1, 2] }, ctx)).toMatchObject({
      data: { value: [1, 2] },
      timestamp: '2026-05-01T12:00:00.000Z',
    });
    expect(cloudEventEnvelope({ ...base, data: 'hello' }, ctx)).toMatchObject({ data: { value: 'hello' } });
    expect(cloudEventEnvelope({ ...base, data_base64: 'aGVsbG8=' }, ctx)).toMatchObject({ data: { data_base64: 'aGVsbG8=' } });
  });

  it.each([
    [{ ...base, id: undefined }, 'id'],
    [{ ...base, source: '' }, 'source'],
    [{ ...base, type: undefined }, 'type'],
    [{ ...base, specversion: '0.3' }, 'specversion'],
    [{ ...base, time: 'yesterday' }, 'time'],
    [{ ...base, Foo: 'x' }, 'Foo'],
    [{ ...base, ext: { a: 1 } }, 'ext'],
    [{ ...base, type: '!!!' }, 'type'],
    [{ ...base, data_base64: '***' }, 'data_base64'],
    [{ ...base, data: { k: 'a\u0000' } }, 'data.k'],
  ])('refuses %j naming %s', (raw, path) => {
    const result = cloudEventEnvelope(raw, ctx);
    expect(Array.isArray(result)).toBe(true);
    expect((result as { path: string }[])[0]!.path).toBe(path);
  });
});
