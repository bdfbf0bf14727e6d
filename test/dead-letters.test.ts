import { randomUUID } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createRedactor } from '../src/events/redact.js';
import { createDeadLetters } from '../src/nats/dead-letters.js';
import { eventually, get, stack, testPool } from './helpers.js';

// Messages in the event stream that can never become events: terminated, kept with the reason,
// listed by GET /api/dead-letters, and never stored as events.

const STREAM = 'EVENTS';
const CONSUMER = 'event-bridge';

interface Listed {
  seq: number;
  subject: string;
  stream_seq: number;
  reason: string;
  body: string;
  body_encoding: string;
  body_redacted: boolean;
  body_truncated: boolean;
  received_at: string;
}

async function deadLetterOf(streamSeq: number): Promise<Listed> {
  return eventually(
    async () => {
      const res = await get('/api/dead-letters?limit=500');
      expect(res.status).toBe(200);
      return (res.body.dead_letters as Listed[]).find((d) => d.stream_seq === streamSeq);
    },
    30_000,
    `the dead letter of stream seq ${streamSeq}`,
  );
}

describe('a message that can never be an event', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let pool: pg.Pool;
  beforeAll(async () => {
    nc = await connect({ servers: stack().natsUrl });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    pool = testPool();
  });
  afterAll(async () => {
    await nc.drain();
    await pool.end();
  });

  const storedWithMarker = async (marker: string) =>
    (await pool.query('SELECT count(*)::int AS n FROM events WHERE data::text LIKE $1', [`%${marker}%`])).rows[0].n as number;

  const cases = [
    {
      name: 'bad JSON',
      subject: 'events.backend.service.inventory_changed',
      body: (m: string) => `{"data": {"marker": "${m}"`,
      reason: /body is not valid UTF-8 JSON/,
    },
    {
      name: 'data that is a string',
      subject: 'events.backend.service.inventory_changed',
      body: (m: string) => JSON.stringify({ data: m }),
      reason: /^not an event envelope: data: /,
    },
    {
      name: 'a body whose event_type differs from the subject',
      subject: 'events.backend.service.inventory_changed',
      body: (m: string) => JSON.stringify({ event_type: 'order_paid', data: { marker: m } }),
      reason: /body does not match subject events\.backend\.service\.inventory_changed: event_type "order_paid"/,
    },
    {
      name: 'a subject of three tokens',
      subject: 'events.backend.service',
      body: (m: string) => JSON.stringify({ data: { marker: m } }),
      reason: /subject events\.backend\.service is not events\.<source>\.<category>\.<event_type>/,
    },
  ];

  it.each(cases)('is dead-lettered with its reason and never stored: $name', async ({ subject, body, reason }) => {
    const marker = randomUUID();
    const sent = body(marker);
    const ack = await js.publish(subject, sent, { msgID: randomUUID() });

    const dead = await deadLetterOf(ack.seq);
    expect(dead).toMatchObject({ subject, stream_seq: ack.seq, body: sent, body_encoding: 'utf8', body_redacted: false });
    expect(dead.reason).toMatch(reason);
    expect(Number.isNaN(Date.parse(dead.received_at))).toBe(false);
    expect(await storedWithMarker(marker)).toBe(0);
  });

  it('is settled: the bridge consumer moves past it and does not redeliver it', async () => {
    const sent = await Promise.all(cases.map((c) => js.publish(c.subject, c.body(randomUUID()))));
    const last = Math.max(...sent.map((a) => a.seq));
    await Promise.all(sent.map((a) => deadLetterOf(a.seq)));
    await eventually(
      async () => {
        const ci = await jsm.consumers.info(STREAM, CONSUMER);
        if (ci.ack_floor.stream_seq >= last && ci.num_ack_pending === 0 && ci.num_pending === 0) return ci;
        throw new Error(
          JSON.stringify({
            last,
            delivered: ci.delivered,
            ack_floor: ci.ack_floor,
            ack_pending: ci.num_ack_pending,
            pending: ci.num_pending,
            redelivered: ci.num_redelivered,
          }),
        );
      },
      45_000,
      'the bridge consumer to drain',
    );
    // Recorded once each, even if a message had been redelivered before its term reached NATS.
    const listed = (await get('/api/dead-letters?limit=500')).body.dead_letters as Listed[];
    for (const a of sent) expect(listed.filter((d) => d.stream_seq === a.seq)).toHaveLength(1);
  });

  it('keeps the body with its sensitive fields redacted', async () => {
    const secret = `hunter-${randomUUID()}`;
    const ack = await js.publish('events.backend.service.user_signed_up', JSON.stringify({ data: { password: secret }, colour: 'red' }));
    const dead = await deadLetterOf(ack.seq);
    expect(dead.reason).toMatch(/colour/);
    expect(dead.body_redacted).toBe(true);
    expect(JSON.parse(dead.body)).toEqual({ data: { password: '[REDACTED]' }, colour: 'red' });
  });

  it('keeps a body that is not UTF-8 in base64', async () => {
    const bytes = Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d);
    const ack = await js.publish('events.backend.service.binary_thing', bytes);
    const dead = await deadLetterOf(ack.seq);
    expect(dead).toMatchObject({ body_encoding: 'base64', body: Buffer.from(bytes).toString('base64'), body_truncated: false });
  });

  it('keeps the head of a body too large for a record, and says so', async () => {
    const sent = `{"data": "${'x'.repeat(700 * 1024)}`;
    const ack = await js.publish('events.backend.service.huge_thing', sent);
    const dead = await deadLetterOf(ack.seq);
    expect(dead).toMatchObject({ body_encoding: 'base64', body_truncated: true, reason: 'body is not valid UTF-8 JSON' });
    const head = Buffer.from(dead.body, 'base64').toString('utf8');
    expect(head.length).toBe(128 * 1024);
    expect(sent.startsWith(head)).toBe(true);
  });
});

describe('GET /api/dead-letters', () => {
  it('lists newest first, a page at a time, with the total', async () => {
    const nc = await connect({ servers: stack().natsUrl });
    try {
      const js = jetstream(nc);
      // One at a time: the bridge settles messages concurrently, so their records could swap places.
      for (let i = 0; i < 3; i++) await deadLetterOf((await js.publish('events.backend.service.broken', `not json ${i}`)).seq);
    } finally {
      await nc.drain();
    }
    const first = await get('/api/dead-letters?limit=2');
    expect(first.status).toBe(200);
    const page1 = first.body.dead_letters as Listed[];
    expect(page1.map((d) => d.body)).toEqual(['not json 2', 'not json 1']);
    expect(page1[0]!.seq).toBeGreaterThan(page1[1]!.seq);
    expect(first.body.next_before_seq).toBe(page1[1]!.seq);

    const second = await get(`/api/dead-letters?limit=2&before_seq=${first.body.next_before_seq}`);
    expect(second.status).toBe(200);
    expect((second.body.dead_letters as Listed[])[0]).toMatchObject({ body: 'not json 0', seq: page1[1]!.seq - 1 });
    expect(second.body.total).toBe(first.body.total);
  });

  it('refuses a limit over 500 or below 1, and an unknown parameter', async () => {
    for (const q of ['limit=501', 'limit=0', 'before_seq=-1', 'colour=red']) {
      const res = await get(`/api/dead-letters?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
  });
});

describe('dead letters of a stream that has none yet', () => {
  it('are an empty list, not an error (the API reads what the worker creates)', async () => {
    const nc = await connect({ servers: stack().natsUrl });
    try {
      const { stream } = loadConfig({ STREAM_NAME: `NEVER_${randomUUID().slice(0, 8)}` });
      const deadLetters = createDeadLetters({ js: jetstream(nc), jsm: await jetstreamManager(nc), stream, redact: createRedactor([]) });
      expect(await deadLetters.list({ limit: 50 })).toEqual({ items: [], total: 0, nextBeforeSeq: null });
    } finally {
      await nc.drain();
    }
  });
});
