import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, expectStoredAndProcessedOnce, post, stack, testPool, testTemporal, waitForStatus } from './helpers.js';

// A client-supplied event_id makes an event exactly-once: JetStream answers a repeat inside its
// duplicate window as `duplicate`, and a repeat that gets past it (after the window) still finds
// the event's workflow and row already there.

const click = (event_id: string, extra: object = {}) => ({
  event_id,
  event_type: 'idem_click',
  category: 'user_interaction',
  data: { n: 1 },
  ...extra,
});

describe('idempotency by event_id', () => {
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
    await nc.close();
    await pool.end();
    await temporal.connection.close();
  });

  it('answers a repeated single frontend event as a duplicate', async () => {
    const id = randomUUID();
    const first = await post('/api/frontend/events', click(id));
    const again = await post('/api/frontend/events', click(id, { data: { n: 2 } }));
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(first.body).toMatchObject({ event_id: id, duplicate: false });
    expect(again.body).toMatchObject({ event_id: id, duplicate: true });
    await expectStoredAndProcessedOnce(pool, temporal, id);
  });

  it('stores an id repeated inside one batch once, answering the repeat as a duplicate', async () => {
    const id = randomUUID();
    const other = randomUUID();
    const res = await post('/api/frontend/events', { events: [click(id), click(other), click(id)] });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 0 });
    expect(res.body.results).toEqual([
      { index: 0, status: 'accepted', event_id: id, subject: 'events.frontend.user_interaction.idem_click' },
      { index: 1, status: 'accepted', event_id: other, subject: 'events.frontend.user_interaction.idem_click' },
      { index: 2, status: 'duplicate', event_id: id },
    ]);
    await expectStoredAndProcessedOnce(pool, temporal, id);
    await expectStoredAndProcessedOnce(pool, temporal, other);
  });

  it('answers ids already sent in an earlier batch as duplicates', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const first = await post('/api/frontend/events', { events: [click(a), click(b)] });
    const second = await post('/api/frontend/events', { events: [click(b), click(c)] });
    expect(first.body).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(second.body.results.map((r: { status: string; event_id: string }) => [r.status, r.event_id])).toEqual([
      ['duplicate', b],
      ['accepted', c],
    ]);
    for (const id of [a, b, c]) await expectStoredAndProcessedOnce(pool, temporal, id);
  });

  it('answers an id first sent to the backend route as a duplicate there too', async () => {
    const id = randomUUID();
    const first = await post('/api/events/create', { event_id: id, event_type: 'idem_backend' });
    const again = await post('/api/events/create', { event_id: id, event_type: 'idem_backend' });
    expect([first.body.duplicate, again.body.duplicate]).toEqual([false, true]);
    await expectStoredAndProcessedOnce(pool, temporal, id);
  });

  it('stores and processes an event once even when it is repeated after the duplicate window', async () => {
    const id = randomUUID();
    const res = await post('/api/frontend/events', click(id));
    expect(res.status).toBe(202);
    await waitForStatus(id, 'completed');

    // After the window JetStream no longer remembers the id and stores the message again; a
    // publish under another message id is exactly that, without waiting minutes for the window.
    const original = await jsm.streams.getMessage('EVENTS', { last_by_subj: res.body.subject });
    const replay = await js.publish(res.body.subject, original!.data, { msgID: `${id}-after-window` });
    expect(replay.duplicate).toBe(false);
    expect(replay.seq).toBeGreaterThan(original!.seq);

    // The bridge has taken the replayed message once every message up to it is acknowledged.
    await eventually(
      async () => {
        const info = await jsm.consumers.info('EVENTS', 'event-bridge');
        return info.ack_floor.stream_seq >= replay.seq ? true : undefined;
      },
      30_000,
      'the bridge to acknowledge the replayed message',
    );
    await expectStoredAndProcessedOnce(pool, temporal, id);
    const stored = await waitForStatus(id, 'completed');
    expect(stored.attempts).toBe(1);
  });
});
