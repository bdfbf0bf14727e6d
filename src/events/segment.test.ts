import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from './envelope.js';
import { segmentEnvelope, segmentEventId } from './segment.js';

const ctx = {
  receivedAt: new Date('2026-05-01T12:00:10.000Z'),
  client: { client: { ip: '203.0.113.9', user_agent: 'analytics-node-next/latest' } },
  app: 'shop',
  maxFutureSkewMs: 300_000,
};
const build = (raw: unknown, type?: Parameters<typeof segmentEnvelope>[1], defaults = {}) => segmentEnvelope(raw, type, defaults, ctx);
const ok = (v: ReturnType<typeof build>) => {
  if (Array.isArray(v)) throw new Error(JSON.stringify(v));
  return v as EventEnvelope;
};

describe('Segment messages as envelopes', () => {
  it('maps a track call: name to event_type, properties to data, the rest to metadata.segment', () => {
    const e = ok(
      build({
        type: 'track',
        event: 'Order Completed',
        messageId: 'm-1',
        userId: 'u-1',
        anonymousId: 'a-1',
        properties: { revenue: 42, password: 'x' },
        context: { page: { url: 'https://shop.example/cart' }, locale: 'de-DE', sessionId: 1714560000 },
        integrations: { All: true },
        _metadata: { bundled: [] },
      }),
    );
    expect(e).toMatchObject({
      event_id: segmentEventId('shop', 'm-1'),
      event_type: 'order_completed',
      event_source: 'frontend',
      event_category: 'business_action',
      user_id: 'u-1',
      session_id: '1714560000',
      data: { revenue: 42, password: 'x' },
    });
    expect(e.metadata).toMatchObject({
      page_url: 'https://shop.example/cart',
      language: 'de-DE',
      app: 'shop',
      client: ctx.client.client,
      segment: { type: 'track', event: 'Order Completed', messageId: 'm-1', userId: 'u-1', anonymousId: 'a-1', _metadata: { bundled: [] } },
    });
  });

  it('derives the same id for the same app and messageId only', () => {
    expect(segmentEventId('shop', 'm-1')).toBe(segmentEventId('shop', 'm-1'));
    expect(segmentEventId('blog', 'm-1')).not.toBe(segmentEventId('shop', 'm-1'));
  });

  it('takes the call type from the path, traits as data for identify, the anonymousId when there is no userId', () => {
    const e = ok(build({ anonymousId: 'a-2', userId: null, traits: { plan: 'pro' }, messageId: 'm-2' }, 'identify'));
    expect(e).toMatchObject({ event_type: 'identify', event_category: 'system_event', user_id: 'a-2', data: { plan: 'pro' } });
    expect(ok(build({ anonymousId: 'a', name: 'Home' }, 'page'))).toMatchObject({
      event_type: 'page_view',
      event_category: 'user_interaction',
    });
  });

  it('corrects the clock: timestamp = receivedAt − (sentAt − originalTimestamp)', () => {
    const e = ok(
      build({ type: 'track', event: 'x', anonymousId: 'a', originalTimestamp: '2026-05-01T13:00:00.000Z' }, undefined, {
        sentAt: '2026-05-01T13:00:05.000Z',
      }),
    );
    expect(e.timestamp).toBe('2026-05-01T12:00:05.000Z');
    expect(e.metadata.clock_skew_ms).toBe(-3_595_000);
    expect((e.metadata.segment as Record<string, unknown>).sentAt).toBe('2026-05-01T13:00:05.000Z');
  });

  it('merges the batch context into each message, the message winning', () => {
    const e = ok(
      build({ type: 'track', event: 'x', anonymousId: 'a', context: { ip: '10.0.0.1' } }, undefined, {
        context: { ip: '1.1.1.1', library: { name: 'x' } },
      }),
    );
    expect((e.metadata.segment as { context: unknown }).context).toEqual({ ip: '10.0.0.1', library: { name: 'x' } });
  });

  it.each([
    [{ type: 'track', anonymousId: 'a' }, 'event'],
    [{ type: 'track', event: 'x' }, 'userId'],
    [{ event: 'x', anonymousId: 'a' }, 'type'],
    [{ type: 'teleport', event: 'x', anonymousId: 'a' }, 'type'],
    [{ type: 'group', anonymousId: 'a' }, 'groupId'],
    [{ type: 'alias', userId: 'u' }, 'previousId'],
    [{ type: 'track', event: 'x', anonymousId: 'a', properties: { k: 'nul\u0000' } }, 'properties.k'],
    [{ type: 'track', event: 'x', anonymousId: 'a', timestamp: 'yesterday' }, 'timestamp'],
    [{ type: 'track', event: 'x', userId: 'u'.repeat(101) }, 'userId'],
  ])('refuses %j naming %s', (raw, path) => {
    const result = build(raw);
    expect(Array.isArray(result)).toBe(true);
    expect((result as { path: string }[])[0]!.path).toBe(path);
  });

  it('keeps a name with nothing subject-safe in it under the event type track', () => {
    const e = ok(build({ type: 'track', event: '注文完了', anonymousId: 'a' }));
    expect(e.event_type).toBe('track');
    expect((e.metadata.segment as { event: string }).event).toBe('注文完了');
  });
});
