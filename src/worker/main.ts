import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { type Bridge, createBridge } from '../bridge/bridge.js';
import { createDecoder } from '../nats/decode-message.js';
import { createMessageLoader } from '../bridge/load-message.js';
import { createDataConverter } from '../temporal/codec.js';
import { secretBoxFor } from '../crypto/secret-box.js';
import { loadConfig, required } from '../config.js';
import { createRedactor } from '../events/redact.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { createDeadLetters } from '../nats/dead-letters.js';
import { ensureStream } from '../nats/stream.js';
import { handleShutdown, type ShutdownStep } from '../shutdown.js';
import { temporalConnectionOptions } from '../temporal/connection-options.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { migrate } from '../store/migrate.js';
import { createPartitionMaintenance } from '../store/partitions.js';
import { createPool } from '../store/pool.js';
import { createDeliveryQueue } from '../store/delivery-queue.js';
import { createSubscriptionCache } from '../store/subscriptions-cache.js';
import { createSubscriptionsRepo } from '../store/subscriptions-repo.js';
import { createRegistry, watchDisk, watchNatsConnection, watchPool } from '../telemetry/registry.js';
import { mergedMetrics, temporalMetricsAddress } from '../telemetry/temporal-metrics.js';
import { createTracing } from '../telemetry/tracing.js';
import { createWorkerMetrics } from '../telemetry/worker-metrics.js';
import { createWorker, tracingPlugin } from './create-worker.js';
import { startWorkerHealthServer } from './health-server.js';
import { installRuntimeLogger } from './runtime-logger.js';

// Process entry for the worker: the Temporal worker (workflows and activities) and, unless
// BRIDGE_ENABLED=false, the bridge that starts a workflow for each event in the stream.
async function main(): Promise<void> {
  const config = loadConfig();
  // Refuse a production start without payload keys before touching anything.
  createDataConverter(config);
  const log = createLogger('worker', config.logLevel);
  const temporalMetrics = await temporalMetricsAddress(config.temporalMetricsAddress);
  installRuntimeLogger(log, temporalMetrics.bind);
  const tracing = createTracing(config, 'event-service-worker');
  const registry = createRegistry();
  const metrics = createWorkerMetrics(registry);
  const address = required(config.temporal.address, 'TEMPORAL_ADDRESS');

  const pool = createPool(required(config.databaseUrl, 'DATABASE_URL'), config.databasePoolMax, config.databaseTls);
  watchPool(registry, pool);
  watchDisk(registry, process.cwd());
  await migrate(pool, log);
  const partitions = createPartitionMaintenance({ pool, log, settings: config.readSide.partitions });
  await partitions.start();
  const temporalOptions = temporalConnectionOptions(address, config.temporal);
  const operator = await Connection.connect(temporalOptions);
  await ensureSearchAttributes(operator, config.temporal.namespace, log).finally(() => operator.close());
  const connection = await NativeConnection.connect(temporalOptions);
  metrics.watchSubscribers(() => createDeliveryQueue(pool).states());
  const subscriptions = createSubscriptionCache({ pool, repo: createSubscriptionsRepo(pool, secretBoxFor(config)), log });
  let bridge: Bridge | undefined;
  // The stream: the bridge's source, and where the activities read a big event the workflow
  // was started with by reference (a worker without the bridge reads them too, if it has NATS).
  const nc =
    config.bridge.enabled || config.natsUrl
      ? await connectNats(required(config.natsUrl, 'NATS_URL'), 'event-service-bridge', log, config.natsTls)
      : undefined;
  const jsm = nc && (await jetstreamManager(nc));
  const worker = await createWorker({
    connection,
    pool,
    config,
    subscriptions,
    onSettled: (eventId) => bridge?.settled(eventId),
    ...(jsm && { loadMessage: createMessageLoader(jsm, createDecoder(config.sensitiveFields)) }),
    metrics,
    log,
    ...(tracing && { tracing }),
  });
  let natsConnected: (() => boolean) | undefined;
  const steps: ShutdownStep[] = [];
  // Polling before the bridge starts anything, so that the first eager starts find this worker.
  const running = worker.run();

  if (nc) natsConnected = watchNatsConnection(registry, nc, 'bridge');
  if (config.bridge.enabled && nc && jsm) {
    await ensureStream(jsm, config.stream);
    // On the worker's own connection, so that starts are eager: the first workflow task comes
    // back in the start's answer and runs here, without a trip through the task queue.
    const dataConverter = createDataConverter(config);
    const temporal = new Client({
      connection,
      namespace: config.temporal.namespace,
      ...(dataConverter && { dataConverter }),
      ...(tracing && { plugins: [tracingPlugin(tracing)] }),
    });
    const js = jetstream(nc);
    bridge = createBridge({
      js,
      jsm,
      temporal,
      stream: config.stream,
      bridge: config.bridge,
      log,
      start: { taskQueue: config.temporal.taskQueue, lifecycle: config.lifecycle },
      sensitiveFields: config.sensitiveFields,
      deadLetters: createDeadLetters({ js, jsm, stream: config.stream, redact: createRedactor(config.sensitiveFields) }),
      metrics,
      ...(tracing && { tracer: tracing.tracer }),
    });
    metrics.watchBridge(bridge);
    await bridge.start();
    const started = bridge;
    steps.push(['bridge', () => started.stop()]);
  }

  const health = await startWorkerHealthServer(config.worker.healthPort, config.http.host, {
    workerState: () => worker.getState(),
    bridge,
    log,
    metrics: mergedMetrics(registry, temporalMetrics.url),
    ...(natsConnected && { natsConnected }),
  });
  steps.push(
    [
      'worker',
      async () => {
        worker.shutdown();
        await running;
      },
    ],
    // After the worker: its activities read big events from the stream until it has stopped.
    ...(nc ? [['nats', () => nc.drain()] as ShutdownStep] : []),
    ['health', () => new Promise((resolve) => health.close(resolve))],
    ['subscriptions', () => subscriptions.close()],
    ['partitions', async () => partitions.stop()],
    ['temporal', () => connection.close()],
    ['database', () => pool.end()],
    ['tracing', async () => void (await tracing?.shutdown())],
  );
  handleShutdown(log, () => steps);
  log.info({ taskQueue: config.temporal.taskQueue, bridge: config.bridge.enabled }, 'worker running');
  await running;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
