import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../events/envelope.js';
import type { StreamMessage } from '../events/nats-event.js';
import { createDecoder } from '../nats/decode-message.js';
import { createMessageHandler } from './handle-message.js';

// The order of settling matters more than anything else here, so it is checked with recording
// stand-ins; the real path (NATS, Temporal, PostgreSQL) is covered in test/dead-letters.test.ts.

function setup({ recordFails = false, startFails = false as false | Error } = {}) {
  const calls: string[] = [];
  const handle = createMessageHandler({
    decode: createDecoder(['password']),
    deadLetters: {
      record: async (_m: StreamMessage, reason: string) => {
        calls.push(`record:${reason.split(':')[0]}`);
        if (recordFails) throw new Error('no stream');
        return true;
      },
    },
    startWorkflow: async (event: EventEnvelope) => {
      calls.push(`start:${event.event_type}`);
      if (startFails) throw startFails;
      return true;
    },
    retryDelayMs: 1234,
    maxDeliver: 3,
    log: pino({ level: 'silent' }),
  });
  const msg = {
    ack: () => void calls.push('ack'),
    nak: (ms?: number) => void calls.push(`nak:${ms}`),
    term: () => void calls.push('term'),
  };
  return { calls, handle, msg };
}

const message = (body: string): StreamMessage => ({
  subject: 'events.backend.service.thing_done',
  body: new TextEncoder().encode(body),
  stream: 'EVENTS',
  streamCreated: '2030-01-01T00:00:00Z',
  seq: 7,
  storedAt: new Date(),
});

describe('settling a message', () => {
  it('acks a valid event once its workflow start succeeded', async () => {
    const { calls, handle, msg } = setup();
    expect(await handle(message('{"data":{}}'), msg)).toBe('started');
    expect(calls).toEqual(['start:thing_done', 'ack']);
  });

  const unavailable = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
  const refused = Object.assign(new Error('3 INVALID_ARGUMENT: blob size exceeds limit'), { code: 3 });
  const odd = new Error('something odd');

  it('naks with a growing delay, for ever, while Temporal is unreachable', async () => {
    const { calls, handle, msg } = setup({ startFails: unavailable });
    expect(await handle(message('{"data":{}}'), msg, 1)).toBe('retry');
    expect(await handle(message('{"data":{}}'), msg, 2)).toBe('retry');
    expect(await handle(message('{"data":{}}'), msg, 50)).toBe('retry');
    expect(calls.filter((c) => c.startsWith('nak'))).toEqual(['nak:1234', 'nak:2468', 'nak:60000']);
  });

  it('dead-letters at once a start that Temporal refuses for good', async () => {
    const { calls, handle, msg } = setup({ startFails: refused });
    expect(await handle(message('{"data":{}}'), msg, 1)).toBe('dead_lettered');
    expect(calls).toEqual(['start:thing_done', 'record:workflow cannot be started', 'term']);
  });

  it('dead-letters a start failing for an unexplained reason after max such failures, not before', async () => {
    const { calls, handle, msg } = setup({ startFails: odd });
    expect(await handle(message('{"data":{}}'), msg, 1)).toBe('retry');
    expect(await handle(message('{"data":{}}'), msg, 2)).toBe('retry');
    expect(await handle(message('{"data":{}}'), msg, 3)).toBe('dead_lettered');
    expect(calls.slice(-2)).toEqual(['record:workflow cannot be started', 'term']);
  });

  it('never dead-letters after a long outage, whatever status codes Temporal answers while it recovers', async () => {
    const { calls, handle, msg } = setup({ startFails: Object.assign(new Error('13 INTERNAL: warming up'), { code: 13 }) });
    for (const delivery of [10, 40, 200]) expect(await handle(message('{"data":{}}'), msg, delivery)).toBe('retry');
    expect(calls).not.toContain('term');
  });

  it('records a dead letter before it terminates the message', async () => {
    const { calls, handle, msg } = setup();
    expect(await handle(message('not json'), msg)).toBe('dead_lettered');
    expect(calls).toEqual(['record:body is not valid UTF-8 JSON', 'term']);
  });

  it('naks instead of terminating when the dead letter cannot be recorded', async () => {
    const { calls, handle, msg } = setup({ recordFails: true });
    expect(await handle(message('not json'), msg)).toBe('retry');
    expect(calls).toEqual(['record:body is not valid UTF-8 JSON', 'nak:1234']);
  });
});
