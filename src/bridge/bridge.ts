import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { SUBJECT_ROOT } from '../events/subject.js';
import type { Logger } from '../logger.js';
import { type StartSettings, startEventWorkflow } from '../temporal/start-event-workflow.js';
import { decodeMessage } from './decode.js';

export interface BridgeDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  temporal: Client;
  stream: Config['stream'];
  bridge: Config['bridge'];
  start: StartSettings;
  log: Logger;
}

/**
 * Moves events from the stream into Temporal: one workflow start per message, acked only once
 * the start succeeded (or the workflow already existed), so a crash at any point redelivers.
 */
export function createBridge({ js, jsm, temporal, stream, bridge, start, log }: BridgeDeps) {
  const inflight = new Set<Promise<void>>();
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;

  async function handle(msg: JsMsg): Promise<void> {
    const decoded = decodeMessage(msg.subject, msg.data);
    if (!decoded.ok) {
      log.error({ subject: msg.subject, seq: msg.seq, reason: decoded.reason }, 'message can never be an event; terminated');
      msg.term(decoded.reason);
      return;
    }
    const { event } = decoded;
    try {
      const started = await startEventWorkflow(temporal, event, start);
      msg.ack();
      log.debug({ eventId: event.event_id, started }, started ? 'workflow started' : 'workflow already exists');
    } catch (err) {
      log.warn({ eventId: event.event_id, err: (err as Error).message }, 'workflow start failed; will redeliver');
      msg.nak(bridge.retryDelayMs);
    }
  }

  async function run(source: ConsumerMessages): Promise<void> {
    for await (const msg of source) {
      while (inflight.size >= bridge.concurrency) await Promise.race(inflight);
      const task: Promise<void> = handle(msg).finally(() => inflight.delete(task));
      inflight.add(task);
    }
  }

  return {
    async start(): Promise<void> {
      await jsm.consumers.add(stream.name, {
        durable_name: bridge.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: `${SUBJECT_ROOT}.>`,
        ack_wait: nanos(30_000),
        max_ack_pending: bridge.concurrency * 4,
      });
      const consumer = await js.consumers.get(stream.name, bridge.consumer);
      messages = await consumer.consume({ max_messages: bridge.concurrency });
      loop = run(messages).catch((err) => log.error({ err }, 'bridge loop stopped'));
      log.info({ consumer: bridge.consumer, concurrency: bridge.concurrency }, 'bridge consuming');
    },

    /** Stops pulling, then waits for the messages in hand to be started and acked. */
    async stop(): Promise<void> {
      await messages?.close();
      await loop;
      await Promise.all(inflight);
    },
  };
}

export type Bridge = ReturnType<typeof createBridge>;
