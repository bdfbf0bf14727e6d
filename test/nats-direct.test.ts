import { randomUUID } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { v5 as uuidv5 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_ID_NAMESPACE } from '../src/events/nats-event.js';
import { eventually, stack, testPool, testTemporal, waitForStatus } from './helpers.js';

// A service that publishes straight to the stream, without the HTTP API.

const STREAM = 'EVENTS';
const INVENTORY = 'events.backend.service.inventory_changed';

/** The history with every payload's data read as text, so a clear value in a payload shows. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    return value;
  });
}

describe('an event published directly to NATS', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let pool: pg.Pool;
  let temporal: Client;
  beforeAll(async () => {
    nc = await connect({ servers: stack().natsUrl });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    pool = testPool();
    temporal = await testTemporal();
  });
  afterAll(async () => {
    await nc.drain();
    await pool.end();
    await temporal.connection.close();
  });

  const idOfMarker = (marker: string) =>
    eventually(
      async () => {
        const res = await pool.query("SELECT event_id FROM events WHERE data->>'marker' = $1", [marker]);
        return res.rows[0]?.event_id as string | undefined;
      },
      30_000,
      `an event with marker ${marker}`,
    );

  it('with a minimal body and a UUID Nats-Msg-Id ends completed, its names taken from the subject', async () => {
    const id = randomUUID();
    const ack = await js.publish(INVENTORY, JSON.stringify({ data: { sku: 'A-1', delta: -2 } }), { msgID: id });
    expect(ack.duplicate).toBe(false);

    const stored = await waitForStatus(id, 'completed');
    expect(stored).toMatchObject({
      event_id: id,
      event_type: 'inventory_changed',
      event_source: 'backend',
      event_category: 'service',
      data: { sku: 'A-1', delta: -2 },
      metadata: {},
    });
    expect(stored.timestamp).toBe(stored.received_at);
    const storedMsg = await jsm.streams.getMessage(STREAM, { seq: ack.seq });
    expect(Math.abs(Date.parse(stored.received_at) - storedMsg!.time.getTime())).toBeLessThan(1_000);
  });

  it('without an id gets the v5 UUID of its stream position', async () => {
    const marker = randomUUID();
    const ack = await js.publish(INVENTORY, JSON.stringify({ data: { marker } }));
    const { created } = await jsm.streams.info(STREAM);

    const id = await idOfMarker(marker);
    expect(id).toBe(uuidv5(`stream:${STREAM}:${created}:${ack.seq}`, EVENT_ID_NAMESPACE));
    await waitForStatus(id, 'completed');
  });

  it('with a Nats-Msg-Id that is not a UUID gets the v5 UUID of that id, and is stored once when sent twice', async () => {
    const msgId = `order-${randomUUID()}-paid`;
    const marker = randomUUID();
    const body = JSON.stringify({ data: { marker } });
    await js.publish('events.backend.service.order_paid', body, { msgID: msgId });
    const second = await js.publish('events.backend.service.order_paid', body, { msgID: msgId });
    expect(second.duplicate).toBe(true);

    const id = uuidv5(`msg-id:${msgId}`, EVENT_ID_NAMESPACE);
    await waitForStatus(id, 'completed');
    expect(await idOfMarker(marker)).toBe(id);
    const rows = await pool.query("SELECT count(*)::int AS n FROM events WHERE data->>'marker' = $1", [marker]);
    expect(rows.rows[0].n).toBe(1);
  });

  it('keeps a full envelope as sent, frontend categories included', async () => {
    const id = randomUUID();
    const envelope = {
      event_id: id,
      event_type: 'button_click',
      event_source: 'frontend',
      event_category: 'user_interaction',
      user_id: 'u-7',
      session_id: 's-7',
      data: { button: 'buy' },
      metadata: { page: '/cart' },
      timestamp: '2030-05-01T12:00:00.000Z',
      received_at: '2030-05-01T12:00:01.000Z',
    };
    await js.publish('events.frontend.user_interaction.button_click', JSON.stringify(envelope), { msgID: id });
    const stored = await waitForStatus(id, 'completed');
    expect(stored).toMatchObject(envelope);
  });

  it('has its sensitive fields redacted before Temporal and the database', async () => {
    const id = randomUUID();
    const secret = `hunter-${randomUUID()}`;
    const body = { data: { user: { Password: secret }, cards: [{ credit_card: secret }], ok: true }, metadata: { SSN: secret } };
    await js.publish('events.backend.service.user_signed_up', JSON.stringify(body), { msgID: id });

    const stored = await waitForStatus(id, 'completed');
    expect(stored.data).toEqual({ user: { Password: '[REDACTED]' }, cards: [{ credit_card: '[REDACTED]' }], ok: true });
    expect(stored.metadata).toEqual({ SSN: '[REDACTED]' });
    const row = await pool.query('SELECT data::text || metadata::text AS t FROM events WHERE event_id = $1', [id]);
    expect(row.rows[0].t).not.toContain(secret);

    const history = await temporal.workflow.getHandle(id).fetchHistory();
    expect(historyText(history)).toContain('user_signed_up');
    expect(historyText(history)).not.toContain(secret);
  });
});
