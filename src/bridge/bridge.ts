import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Tracer } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { type EventEnvelope, type EventStatus, SETTLED_STATUSES } from '../events/envelope.js';
import type { StreamMessage } from '../events/nats-event.js';
import type { Logger } from '../logger.js';
import type { DeadLetters } from '../nats/dead-letters.js';
import { createDecoder, toStreamMessage } from '../nats/decode-message.js';
import { type StartSettings, startEventWorkflow } from '../temporal/start-event-workflow.js';
import { activeTraceId } from '../telemetry/tracing.js';
import type { WorkerMetrics } from '../telemetry/worker-metrics.js';
import { EventStatusKey } from '../workflows/definitions.js';
import { bridgeConsumer } from './consumer.js';
import { createMessageHandler, type Outcome } from './handle-message.js';
import { createAckBatch } from './ack-batch.js';
import { createPlaces, type Places } from './places.js';
import { createStreamKeeper } from './stream-keeper.js';
import { type LoopState, supervise } from './supervise.js';
import { traced } from './traced.js';

export interface BridgeDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** A client on the worker's own NativeConnection: starts are eager, the first task runs here. */
  temporal: Client;
  stream: Config['stream'];
  bridge: Config['bridge'];
  start: StartSettings;
  sensitiveFields: Config['sensitiveFields'];
  deadLetters: DeadLetters;
  log: Logger;
  metrics?: Pick<WorkerMetrics, 'bridgeOutcome'>;
  /** With tracing on: a span per message, child of the producer's context from its headers. */
  tracer?: Tracer;
}

// How long a fetch waits for messages before the loop looks again; bounds how late stop() is.
const FETCH_EXPIRES_MS = 1_000;
// When every place is held (Temporal is the bottleneck), places come free one at a time: the
// loop waits a moment for a few more, so that one pull brings several messages. Each fetch is
// a subscription, a pull request and their writes: one per event cost NATS 0.27 ms of CPU per
// event against 0.16 ms now, and the worker about 1 ms more (docs/performance.md). The events
// waiting meanwhile are in the stream's backlog anyway.
const FETCH_AT_LEAST = 8;
const FETCH_GATHER_MS = 100;
// Acks held this long go out together (ack-batch.ts). At 70 events/s, 5 ms held one ack per
// write (0.28 ms of the worker's CPU per event in NATS writes, bench:profile); 50 ms holds three
// or four. An ack sent late costs nothing but its redelivery after a crash, a duplicate start.
const ACK_BATCH_MS = 50;
const STOP_TIMEOUT_MS = 15_000;
// At 2,000 events/s a look this often sees the stream long before the 10 % between a trim and full is used up.
const KEEP_EVERY_MS = 5_000;

/**
 * Moves events from the stream into Temporal: one workflow start per message, acked only once
 * the start succeeded (or the workflow already existed), so a crash at any point redelivers.
 * At most `bridge.maxInProgress` events are in progress at once; the rest wait in the stream.
 * The consume loop is supervised: if it ends for any reason it is started again with backoff,
 * and `health()` says whether it is consuming.
 */
export function createBridge({ js, jsm, temporal, stream, bridge, start, sensitiveFields, deadLetters, log, metrics, tracer }: BridgeDeps) {
  const places = createPlaces({ max: bridge.maxInProgress, recheckAfterMs: bridge.recheckAfterMs, isSettled: settledIn(temporal) });
  const handle = createMessageHandler({
    decode: createDecoder(sensitiveFields),
    deadLetters,
    startWorkflow: startHoldingPlace(places, temporal, start, tracer),
    retryDelayMs: bridge.retryDelayMs,
    maxDeliver: bridge.maxDeliver,
    log,
  });

  const acks = createAckBatch(ACK_BATCH_MS);
  const handling = new Set<Promise<unknown>>();
  let handled = 0;
  const abort = new AbortController();
  const state: LoopState & { deadLettered: number } = { consuming: false, restarts: 0, deadLettered: 0 };
  let loop: Promise<void> | undefined;
  let recheckTimer: NodeJS.Timeout | undefined;
  let keepTimer: NodeJS.Timeout | undefined;
  const keeper = createStreamKeeper({ jsm, stream, consumer: bridge.consumer, log });
  const keepStream = () =>
    keeper.trim().catch((err: unknown) => log.warn({ err }, 'could not look at the stream to trim it; trying again shortly'));

  /** Handles one message in the background, holding a place while it does. */
  function track(msg: JsMsg, created: string): void {
    const message = toStreamMessage(msg, created);
    // Held while the message is handled, so a dead-letter flood is bounded too; a started
    // event also holds its own place from the start on (it may count twice for a moment).
    const key = `message:${++handled}`;
    places.take(key);
    const run = () => handle(message, acks.holding(msg), msg.info.deliveryCount);
    const task: Promise<Outcome> = (tracer ? traced(tracer, msg.headers, run) : run())
      .then((outcome) => {
        if (outcome === 'dead_lettered') state.deadLettered++;
        metrics?.bridgeOutcome(outcome);
        return outcome;
      })
      .finally(() => {
        places.release(key);
        handling.delete(task);
      });
    handling.add(task);
  }

  async function consume(): Promise<void> {
    const { consumer: source, created } = await bridgeConsumer(js, jsm, stream, bridge);
    state.consuming = true;
    log.info({ consumer: bridge.consumer, maxInProgress: bridge.maxInProgress }, 'bridge consuming');
    while (!abort.signal.aborted) {
      await places.whenFree(abort.signal);
      if (places.free < FETCH_AT_LEAST)
        await places.whenFree(AbortSignal.any([abort.signal, AbortSignal.timeout(FETCH_GATHER_MS)]), FETCH_AT_LEAST);
      if (abort.signal.aborted) break;
      const batch = await source.fetch({ max_messages: places.free, expires: FETCH_EXPIRES_MS });
      // Without this a fetch waiting on a lost connection could keep stop() waiting for ever.
      const stopBatch = () => void batch.stop();
      abort.signal.addEventListener('abort', stopBatch, { once: true });
      for await (const msg of batch) track(msg, created);
      abort.signal.removeEventListener('abort', stopBatch);
    }
  }

  return {
    /** Messages terminated as never valid (and kept in the dead-letter stream) since start. */
    get deadLetterCount(): number {
      return state.deadLettered;
    },

    /** Frees the event's place: its status settled (called by this process's activities). */
    settled(eventId: string): void {
      places.release(eventId);
    },

    health() {
      return {
        consuming: state.consuming,
        inProgress: places.size,
        restarts: state.restarts,
        ...(state.lastError && { lastError: state.lastError }),
      };
    },

    /** Messages in the stream the bridge has not taken yet, and those taken but not acked. */
    async backlog(): Promise<{ pending: number; ackPending: number }> {
      const info = await jsm.consumers.info(stream.name, bridge.consumer);
      return { pending: info.num_pending, ackPending: info.num_ack_pending };
    },

    async start(): Promise<void> {
      // The first consumer setup runs here so that a bad stream or consumer fails the start.
      await bridgeConsumer(js, jsm, stream, bridge);
      loop = supervise(consume, state, abort.signal, log);
      recheckTimer = setInterval(() => void places.recheck(), bridge.recheckAfterMs / 2).unref();
      keepTimer = setInterval(() => void keepStream(), KEEP_EVERY_MS).unref();
    },

    /** Stops pulling, then waits for the messages in hand to be started and acked. */
    async stop(): Promise<void> {
      abort.abort();
      clearInterval(recheckTimer);
      clearInterval(keepTimer);
      // Bounded: messages not settled by then are redelivered after ack_wait, nothing is lost.
      await Promise.race([Promise.all([loop, ...handling]), sleep(STOP_TIMEOUT_MS)]);
      acks.flush();
    },
  };
}

export type Bridge = ReturnType<typeof createBridge>;

/** Whether an event's run has settled, as Temporal knows it: for places the worker never heard settle. */
function settledIn(temporal: Client) {
  return async (eventId: string): Promise<boolean> => {
    const d = await temporal.workflow.getHandle(eventId).describe();
    const status = d.typedSearchAttributes.get(EventStatusKey) as EventStatus | undefined;
    return d.status.name !== 'RUNNING' || (status !== undefined && SETTLED_STATUSES.includes(status));
  };
}

/** Starts an event's workflow (eagerly: its first task runs in this worker), the event holding a place until it settles. */
function startHoldingPlace(places: Places, temporal: Client, start: StartSettings, tracer?: Tracer) {
  return async (event: EventEnvelope, message: StreamMessage): Promise<boolean> => {
    // Taken before the start: with an eager start, the event may settle before the call returns.
    // A redelivery while the first start's event is still in progress must not free its place.
    const took = places.take(event.event_id);
    try {
      const traceId = tracer && activeTraceId();
      // A big event goes by reference to its message: the first activity reads it from the stream.
      const started = await startEventWorkflow(temporal, event, { ...start, eager: true, ...(traceId && { traceId }) }, message);
      if (!started && took) places.release(event.event_id);
      return started;
    } catch (err) {
      if (took) places.release(event.event_id);
      throw err;
    }
  };
}
