import { HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../events/envelope.js';
import { cloudEventRequest } from './cloudevent-delivery.js';

const native: EventEnvelope = {
  event_id: '0190f5d2-7a4c-7cc3-9a2b-1d2e3f405162',
  event_type: 'order_completed',
  event_source: 'frontend',
  event_category: 'business_action',
  user_id: 'u-1',
  data: { revenue: 42 },
  metadata: {},
  timestamp: '2026-05-01T12:00:00.000Z',
  received_at: '2026-05-01T12:00:01.000Z',
};

describe('deliveries as CloudEvents', () => {
  it.each(['structured', 'binary'] as const)('%s mode: the SDK reads back our attributes and the envelope as data', (mode) => {
    const { headers, body } = cloudEventRequest(native, mode);
    const ce = HTTP.toEvent({ headers, body });
    expect(Array.isArray(ce)).toBe(false);
    expect(ce).toMatchObject({
      specversion: '1.0',
      id: native.event_id,
      source: '/events/frontend/business_action',
      type: 'order_completed',
      subject: 'u-1',
      time: native.timestamp,
      datacontenttype: 'application/json',
      data: native,
    });
  });

  it('sends an event that came in as a CloudEvent under its own source, type, subject and extensions', () => {
    const cloudevents = {
      specversion: '1.0',
      id: 'A-1',
      source: '/billing',
      type: 'com.example.order.paid',
      subject: 'order/7',
      tenant: 'acme',
    };
    const event = { ...native, event_source: 'backend' as const, event_category: 'service', metadata: { cloudevents } };
    const ce = HTTP.toEvent(cloudEventRequest(event, 'binary'));
    expect(ce).toMatchObject({
      id: native.event_id,
      source: '/billing',
      type: 'com.example.order.paid',
      subject: 'order/7',
      tenant: 'acme',
    });
  });
});
