import { randomUUID } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, stack, testPool } from './helpers.js';

describe('POST /api/events/create with bad input', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let pool: pg.Pool;
  beforeAll(async () => {
    nc = await connect({ servers: stack().natsUrl });
    jsm = await jetstreamManager(nc);
    pool = testPool();
  });
  afterAll(async () => {
    await nc.close();
    await pool.end();
  });

  const lastSeq = async () => (await jsm.streams.info('EVENTS')).state.last_seq;

  const cases: [string, unknown, RegExp][] = [
    ['no event_type', { data: {} }, /event_type/],
    ['a dot in event_type', { event_type: 'user.created' }, /event_type/],
    ['a * in event_type', { event_type: 'user*' }, /event_type/],
    ['a > in event_type', { event_type: '>' }, /event_type/],
    ['a space in event_type', { event_type: 'user created' }, /event_type/],
    ['unicode in event_type', { event_type: 'usér_created' }, /event_type/],
    ['uppercase in event_type', { event_type: 'UserCreated' }, /event_type/],
    ['data that is not an object', { event_type: 'x', data: [1, 2] }, /data/],
    ['an event_id that is not a UUID', { event_type: 'x', event_id: 'abc' }, /event_id/],
    ['an unknown field', { event_type: 'x', colour: 'red' }, /colour|unrecognized/i],
    ['a number for user_id', { event_type: 'x', user_id: 42 }, /user_id/],
  ];

  it.each(cases)('refuses %s with 400, a clear message, and stores nothing', async (_name, body, mentions) => {
    const before = await lastSeq();
    const id = randomUUID();
    const res = await post('/api/events/create', { event_id: id, ...(body as object) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(JSON.stringify(res.body.error.details)).toMatch(mentions);
    expect(res.body.request_id).toBeTruthy();
    expect(await lastSeq()).toBe(before);
    const rows = await pool.query('SELECT 1 FROM events WHERE event_id = $1', [id]);
    expect(rows.rowCount).toBe(0);
  });

  it('refuses malformed JSON with 400 and stores nothing', async () => {
    const before = await lastSeq();
    const res = await post('/api/events/create', '{"event_type": "x",');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_json');
    expect(await lastSeq()).toBe(before);
  });

  it('refuses a body over the size limit with 413', async () => {
    const res = await post('/api/events/create', { event_type: 'big', data: { blob: 'x'.repeat(1024 * 1024 + 1) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});
