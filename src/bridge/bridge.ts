import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { SUBJECT_ROOT } from '../events/subject.js';
import type { Logger } from '../logger.js';
import { type DeadLetters, ensureDeadLetterStream } from '../nats/dead-letters.js';
import { type StartSettings, startEventWorkflow } from '../temporal/start-event-workflow.js';
import { createDecoder } from './decode.js';
import { createMessageHandler, type Outcome, toStreamMessage } from './handle-message.js';

export interface BridgeDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  temporal: Client;
  stream: Config['stream'];
  bridge: Config['bridge'];
  start: StartSettings;
  sensitiveFields: Config['sensitiveFields'];
  deadLetters: DeadLetters;
  log: Logger;
}

/**
 * Moves events from the stream into Temporal: one workflow start per message, acked only once
 * the start succeeded (or the workflow already existed), so a crash at any point redelivers.
 */
export function createBridge({ js, jsm, temporal, stream, bridge, start, sensitiveFields, deadLetters, log }: BridgeDeps) {
  const inflight = new Set<Promise<unknown>>();
  const handle = createMessageHandler({
    decode: createDecoder(sensitiveFields),
    deadLetters,
    startWorkflow: (event) => startEventWorkflow(temporal, event, start),
    retryDelayMs: bridge.retryDelayMs,
    log,
  });
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let deadLettered = 0;

  async function run(source: ConsumerMessages, streamCreated: string): Promise<void> {
    for await (const msg of source) {
      while (inflight.size >= bridge.concurrency) await Promise.race(inflight);
      const task: Promise<Outcome> = handle(toStreamMessage(msg, streamCreated), msg)
        .then((outcome) => {
          if (outcome === 'dead_lettered') deadLettered++;
          return outcome;
        })
        .finally(() => inflight.delete(task));
      inflight.add(task);
    }
  }

  return {
    /** Messages terminated as never valid (and kept in the dead-letter stream) since start. */
    get deadLetterCount(): number {
      return deadLettered;
    },

    async start(): Promise<void> {
      await ensureDeadLetterStream(jsm, stream);
      // Part of the ids made for id-less messages: a recreated stream restarts its sequence at 1.
      const { created } = await jsm.streams.info(stream.name);
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
      loop = run(messages, created).catch((err) => log.error({ err }, 'bridge loop stopped'));
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
