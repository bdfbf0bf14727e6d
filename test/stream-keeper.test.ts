import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamKeeper } from '../src/bridge/stream-keeper.js';
import { ensureStreamConfig, streamConfig } from '../src/nats/stream.js';
import { stack } from './helpers.js';

// A full events stream must refuse new events rather than drop acknowledged ones nothing has
// processed; the keeper makes room by trimming only what the bridge's consumer acked. Shown on
// the stack's NATS with a small stream of its own (the service's own stream is far too big to fill).

const MAX = 20;
const name = `KEEPER_${randomUUID().slice(0, 8)}`;
const subject = `keeper_${name.toLowerCase()}`;
const settings = { name, maxMessages: MAX, maxAgeMs: 60_000, duplicateWindowMs: 1_000, replicas: 1 };
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

const publish = (n: number) => js.publish(`${subject}.e`, JSON.stringify({ n }));

async function ackNext(count: number): Promise<void> {
  const consumer = await js.consumers.get(name, 'bridge');
  const batch = await consumer.fetch({ max_messages: count, expires: 2_000 });
  for await (const msg of batch) msg.ack();
  await nc.flush();
}

beforeAll(async () => {
  nc = await connect({ servers: stack().natsUrl });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureStreamConfig(
    jsm,
    streamConfig(settings, { name, subjects: [`${subject}.>`], duplicateWindowMs: 1_000, discard: DiscardPolicy.New }),
  );
  await jsm.consumers.add(name, { durable_name: 'bridge', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
});

afterAll(async () => {
  await jsm?.streams.delete(name).catch(() => undefined);
  await nc?.close();
});

describe('a full events stream', () => {
  it('is the service’s own stream’s policy: refuse new messages, never drop old ones', async () => {
    const { config } = await jsm.streams.info('EVENTS');
    expect(config.discard).toBe(DiscardPolicy.New);
  });

  it('refuses the next publish, keeps every acknowledged one, and the keeper makes room only from what was processed', async () => {
    const keeper = createStreamKeeper({ jsm, stream: settings, consumer: 'bridge', log: pino({ level: 'silent' }) });
    for (let n = 1; n <= MAX; n++) await publish(n);
    await expect(publish(MAX + 1)).rejects.toThrow(/maximum messages exceeded/i);
    expect((await jsm.streams.info(name)).state).toMatchObject({ first_seq: 1, messages: MAX });

    // Nothing processed yet: no room can be made without losing an event.
    expect(await keeper.trim()).toBe(0);

    // Two processed: those two go, and no more, though the keeper aims at 80 % (16 kept).
    await ackNext(2);
    expect(await keeper.trim()).toBe(2);
    expect((await jsm.streams.info(name)).state).toMatchObject({ first_seq: 3, messages: 18 });
    expect(await keeper.trim()).toBe(0);
    await publish(MAX + 1);
    await publish(MAX + 2);
    await expect(publish(MAX + 3)).rejects.toThrow(/maximum messages exceeded/i);

    // Ten more processed: now the aim binds, the oldest four go and 16 stay, processed or not.
    await ackNext(10);
    expect(await keeper.trim()).toBe(4);
    expect((await jsm.streams.info(name)).state).toMatchObject({ first_seq: 7, last_seq: MAX + 2, messages: 16 });
  });

  it('leaves a stream below 90 % alone', async () => {
    const keeper = createStreamKeeper({ jsm, stream: settings, consumer: 'bridge', log: pino({ level: 'silent' }) });
    expect((await jsm.streams.info(name)).state.messages).toBeLessThan(MAX * 0.9);
    expect(await keeper.trim()).toBe(0);
  });
});
