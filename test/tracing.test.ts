import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/api/app.js';
import { type ConnectedDeps, connectAppDeps } from '../src/api/deps.js';
import { type Bridge, createBridge } from '../src/bridge/bridge.js';
import { loadConfig } from '../src/config.js';
import { secretBoxFor } from '../src/crypto/secret-box.js';
import { startStack, type RunningStack } from '../src/dev/stack.js';
import { findFreePort } from '../src/dev/ports.js';
import { createRedactor } from '../src/events/redact.js';
import { connectNats } from '../src/nats/connection.js';
import { createDeadLetters } from '../src/nats/dead-letters.js';
import { ensureStream } from '../src/nats/stream.js';
import { createSubscriptionCache, type SubscriptionCache } from '../src/store/subscriptions-cache.js';
import { createSubscriptionsRepo } from '../src/store/subscriptions-repo.js';
import { createDataConverter } from '../src/temporal/codec.js';
import { createTracing, type Tracing } from '../src/telemetry/tracing.js';
import { createWorker, tracingPlugin } from '../src/worker/create-worker.js';
import { eventually } from './helpers.js';
import { testConfig } from './in-process-app.js';
import { startReceiver } from './webhook-receiver.js';

// One event's trace, from the HTTP request to the webhook call, with every span kept in memory.
// API, bridge and worker run in this process (an in-memory exporter cannot cross processes), on
// a NATS server of their own (the shared stream's consumers must not see these events) and a task
// queue of their own in the shared Temporal, with tracing switched on as OTEL_EXPORTER_OTLP_ENDPOINT would.
describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  const log = pino({ level: 'silent' });
  let nats: RunningStack;
  let tracing: Tracing;
  let connected: ConnectedDeps;
  let app: FastifyInstance;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let bridge: Bridge;
  let bridgeNc: NatsConnection;
  let subscriptions: SubscriptionCache;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    const { dev } = loadConfig();
    const dataDir = resolve(dev.testDataDir, '..', `${dev.testDataDir.split('/').at(-1)}-tracing`);
    await rm(dataDir, { recursive: true, force: true });
    nats = await startStack({ dataDir, cacheDir: dev.cacheDir, nats: { port: await findFreePort() }, log });
    const config = testConfig({ NATS_URL: nats.natsUrl!, TEMPORAL_TASK_QUEUE: `tracing-${randomUUID()}`, TRACING_ENABLED: 'true' });
    tracing = createTracing(config, 'event-service-test', exporter)!;
    connected = await connectAppDeps(config, log, tracing);
    await ensureStream(connected.deps.jsm, config.stream);
    app = await buildApp(connected.deps);
    await app.ready();

    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    connection = await NativeConnection.connect({ address: config.temporal.address! });
    subscriptions = createSubscriptionCache({
      pool: connected.deps.pool,
      repo: createSubscriptionsRepo(connected.deps.pool, secretBoxFor(config)),
      log,
    });
    worker = await createWorker({
      connection,
      pool: connected.deps.pool,
      config,
      subscriptions,
      tracing,
      onSettled: (id) => bridge?.settled(id),
    });
    running = worker.run();
    bridgeNc = await connectNats(config.natsUrl!, 'tracing-bridge', log);
    const [js, jsm] = [jetstream(bridgeNc), await jetstreamManager(bridgeNc)];
    const dataConverter = createDataConverter(config);
    bridge = createBridge({
      js,
      jsm,
      stream: config.stream,
      bridge: config.bridge,
      log,
      sensitiveFields: config.sensitiveFields,
      tracer: tracing.tracer,
      temporal: new Client({
        connection,
        namespace: config.temporal.namespace,
        ...(dataConverter && { dataConverter }),
        plugins: [tracingPlugin(tracing)],
      }),
      start: { taskQueue: config.temporal.taskQueue, lifecycle: config.lifecycle },
      deadLetters: createDeadLetters({ js, jsm, stream: config.stream, redact: createRedactor(config.sensitiveFields) }),
    });
    await bridge.start();
    receiver = await startReceiver();
  }, 180_000);

  afterAll(async () => {
    await bridge?.stop();
    await bridgeNc?.drain();
    worker?.shutdown();
    await running;
    await subscriptions?.close();
    await connection?.close();
    await app?.close();
    await connected?.close();
    await receiver?.close();
    await nats?.stop();
  }, 60_000);

  it('gives one event one trace: HTTP request, bridge, workflow, activities and the webhook call', async () => {
    const eventType = `trace_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const sub = await app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { url: receiver.url, subjects: [`events.backend.service.${eventType}`] },
    });
    expect(sub.statusCode).toBe(201);
    try {
      const res = await app.inject({ method: 'POST', url: '/api/events/create', payload: { event_type: eventType, data: { n: 1 } } });
      expect(res.statusCode).toBe(202);
      const id = res.json().event_id as string;
      await eventually(
        async () => {
          const r = await app.inject({ url: `/api/events/${id}` });
          return r.json().status === 'completed' ? true : undefined;
        },
        60_000,
        `event ${id} to complete`,
      );

      const httpSpan = exporter
        .getFinishedSpans()
        .find((s) => s.name === 'POST /api/events/create' && s.attributes['http.response.status_code'] === 202);
      expect(httpSpan).toBeDefined();
      const traceId = httpSpan!.spanContext().traceId;
      const names = () =>
        exporter
          .getFinishedSpans()
          .filter((s) => s.spanContext().traceId === traceId)
          .map((s) => s.name);
      // Workflow spans reach the exporter through a sink once the workflow task completes.
      await eventually(async () => (names().includes('RunWorkflow:eventWorkflow') ? true : undefined), 10_000, 'the workflow span');
      expect(names()).toEqual(
        expect.arrayContaining([
          'POST /api/events/create',
          'bridge handle',
          'StartWorkflow:eventWorkflow',
          'RunWorkflow:eventWorkflow',
          'StartActivity:beginAndProcess',
          'RunActivity:beginAndProcess',
          'webhook POST',
        ]),
      );

      // The subscriber sees the trace too, and so do the operator's status answer.
      expect(String(receiver.to(id)[0]?.headers.traceparent)).toContain(traceId);
      const status = await app.inject({ url: `/api/events/${id}/status` });
      expect(status.json().trace_id).toBe(traceId);
    } finally {
      await app.inject({ method: 'DELETE', url: `/api/subscriptions/${sub.json().id}` });
    }
  }, 90_000);
});
