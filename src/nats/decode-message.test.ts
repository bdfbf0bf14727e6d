import { v5 as uuidv5 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { EVENT_ID_NAMESPACE, type StreamMessage } from '../events/nats-event.js';
import { REDACTED } from '../events/redact.js';
import { createDecoder } from './decode-message.js';

const decode = createDecoder(['password', 'ssn', 'credit_card']);
const storedAt = new Date('2030-01-02T03:04:05.678Z');
const created = '2030-01-01T00:00:00.123456789Z';

function message(subject: string, body: unknown, extra: Partial<StreamMessage> = {}): StreamMessage {
  const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
  return { subject, body: bytes, stream: 'EVENTS', streamCreated: created, seq: 42, storedAt, ...extra };
}

const INVENTORY = 'events.backend.service.inventory_changed';

describe('decoding an envelope the API published', () => {
  it('keeps it as it is', () => {
    const envelope = {
      event_id: '0190a5b4-7c1e-7a3b-9d2e-123456789abc',
      event_type: 'user_created',
      event_source: 'backend',
      event_category: 'service',
      user_id: 'u-1',
      data: { id: 1 },
      metadata: { service: 'accounts' },
      timestamp: '2030-01-01T10:00:00.000Z',
      received_at: '2030-01-01T10:00:01.000Z',
    };
    expect(decode(message('events.backend.service.user_created', envelope, { msgId: envelope.event_id }))).toEqual({
      ok: true,
      event: envelope,
    });
  });
});

describe('decoding what a service published directly', () => {
  it('derives the names from the subject and the times from the stream', () => {
    const id = 'b4a1b3f2-5c1d-4e2f-8a9b-0c1d2e3f4a5b';
    const decoded = decode(message(INVENTORY, { data: { sku: 'A-1', delta: -2 } }, { msgId: id }));
    expect(decoded).toEqual({
      ok: true,
      event: {
        event_id: id,
        event_type: 'inventory_changed',
        event_source: 'backend',
        event_category: 'service',
        data: { sku: 'A-1', delta: -2 },
        metadata: {},
        timestamp: storedAt.toISOString(),
        received_at: storedAt.toISOString(),
      },
    });
  });

  it('accepts an empty object as an event with no data', () => {
    expect(decode(message(INVENTORY, {}))).toMatchObject({ ok: true, event: { data: {}, metadata: {} } });
  });

  it('accepts names in the body that agree with the subject, and a frontend category', () => {
    const body = {
      event_type: 'click',
      event_source: 'frontend',
      event_category: 'user_interaction',
      timestamp: '2030-01-01T00:00:00+02:00',
    };
    expect(decode(message('events.frontend.user_interaction.click', body))).toMatchObject({
      ok: true,
      event: { event_type: 'click', event_source: 'frontend', event_category: 'user_interaction', timestamp: '2030-01-01T00:00:00+02:00' },
    });
  });

  it('redacts sensitive fields in data and metadata', () => {
    const decoded = decode(message(INVENTORY, { data: { user: { Password: 'hunter2' }, ok: 1 }, metadata: { ssn: '123' } }));
    expect(decoded).toMatchObject({ ok: true, event: { data: { user: { Password: REDACTED }, ok: 1 }, metadata: { ssn: REDACTED } } });
    expect(JSON.stringify(decoded)).not.toContain('hunter2');
  });
});

describe('the id of a message without one', () => {
  const id = (extra: Partial<StreamMessage>) => {
    const decoded = decode(message(INVENTORY, { data: {} }, extra));
    if (!decoded.ok) throw new Error(decoded.reason);
    return decoded.event.event_id;
  };

  it('prefers the body, then a UUID Nats-Msg-Id (lower-cased)', () => {
    const body = decode(
      message(INVENTORY, { event_id: '11111111-1111-4111-8111-111111111111' }, { msgId: '22222222-2222-4222-8222-222222222222' }),
    );
    expect(body).toMatchObject({ ok: true, event: { event_id: '11111111-1111-4111-8111-111111111111' } });
    expect(id({ msgId: 'ABCDEF01-2345-4678-9ABC-DEF012345678' })).toBe('abcdef01-2345-4678-9abc-def012345678');
  });

  it('is a v5 UUID of the stream position: the same on redelivery, new for a new message or a recreated stream', () => {
    const first = id({});
    expect(first).toBe(uuidv5(`stream:EVENTS:${created}:42`, EVENT_ID_NAMESPACE));
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id({})).toBe(first);
    expect(id({ seq: 43 })).not.toBe(first);
    expect(id({ streamCreated: '2031-01-01T00:00:00Z' })).not.toBe(first);
  });

  it('is a v5 UUID of a Nats-Msg-Id that is not a UUID, wherever the message sits', () => {
    const first = id({ msgId: 'order-17-paid' });
    expect(first).toBe(uuidv5('msg-id:order-17-paid', EVENT_ID_NAMESPACE));
    expect(id({ msgId: 'order-17-paid', seq: 99 })).toBe(first);
    expect(id({ msgId: 'order-18-paid' })).not.toBe(first);
  });
});

describe('a message that can never be an event', () => {
  it.each([
    ['bad JSON', INVENTORY, '{"data": ', /not valid UTF-8 JSON/],
    ['bytes that are not UTF-8', INVENTORY, Uint8Array.of(0x7b, 0xff, 0x7d), /not valid UTF-8 JSON/],
    ['a JSON array', INVENTORY, [1, 2], /not an event envelope: \(root\)/],
    ['data that is a string', INVENTORY, { data: 'nope' }, /not an event envelope: data:/],
    ['an unknown field', INVENTORY, { data: {}, colour: 'red' }, /not an event envelope: .*colour/],
    ['an event_id that is not a UUID', INVENTORY, { event_id: 'x' }, /event_id/],
    ['a bad timestamp', INVENTORY, { timestamp: 'yesterday' }, /timestamp/],
    ['a body type that differs from the subject', INVENTORY, { event_type: 'order_paid' }, /event_type "order_paid" ≠ "inventory_changed"/],
    ['a body source that differs from the subject', INVENTORY, { event_source: 'frontend' }, /event_source "frontend" ≠ "backend"/],
    ['a subject with three tokens', 'events.backend.service', { data: {} }, /is not events\.<source>\.<category>\.<event_type>/],
    ['a subject with five tokens', 'events.backend.service.a.b', { data: {} }, /is not events\./],
    ['an upper-case subject token', 'events.backend.service.Inventory', { data: {} }, /is not events\./],
    ['an unknown source', 'events.mobile.service.x', { data: {} }, /source "mobile"/],
    ['a backend category other than service', 'events.backend.billing.x', { data: {} }, /category "billing" is not one of service/],
    ['a frontend category not in the list', 'events.frontend.service.x', { data: {} }, /category "service" is not one of user_interaction/],
  ])('%s', (_name, subject, body, reason) => {
    const decoded = decode(message(subject, body));
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.reason).toMatch(reason);
  });
});
