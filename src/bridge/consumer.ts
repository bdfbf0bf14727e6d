import { AckPolicy, type Consumer, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Config } from '../config.js';
import { SUBJECT_ROOT } from '../events/subject.js';
import { ensureDeadLetterStream } from '../nats/dead-letters.js';

/**
 * The bridge's durable consumer on the events stream (created or updated to these settings), with
 * the dead-letter stream it terminates into, and the stream's creation time: part of the ids made
 * for id-less messages, since a recreated stream restarts its sequence at 1.
 */
export async function bridgeConsumer(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: Config['stream'],
  bridge: Config['bridge'],
): Promise<{ consumer: Consumer; created: string }> {
  await ensureDeadLetterStream(jsm, stream);
  const { created } = await jsm.streams.info(stream.name);
  await jsm.consumers.add(stream.name, {
    durable_name: bridge.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${SUBJECT_ROOT}.>`,
    ack_wait: nanos(30_000),
    max_ack_pending: bridge.maxInProgress * 4,
  });
  return { consumer: await js.consumers.get(stream.name, bridge.consumer), created };
}
