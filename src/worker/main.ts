import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createBridge } from '../bridge/bridge.js';
import { createDataConverter } from '../temporal/codec.js';
import { loadConfig, required } from '../config.js';
import { createRedactor } from '../events/redact.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { createDeadLetters } from '../nats/dead-letters.js';
import { ensureStream } from '../nats/stream.js';
import { handleShutdown, type ShutdownStep } from '../shutdown.js';
import { connectTemporal } from '../temporal/client.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { migrate } from '../store/migrate.js';
import { createPool } from '../store/pool.js';
import { createWorker } from './create-worker.js';
import { installRuntimeLogger } from './runtime-logger.js';

// Process entry for the worker: the Temporal worker (workflows and activities) and, unless
// BRIDGE_ENABLED=false, the bridge that starts a workflow for each event in the stream.
async function main(): Promise<void> {
  const config = loadConfig();
  // Refuse a production start without payload keys before touching anything.
  createDataConverter(config);
  const log = createLogger('worker', config.logLevel);
  installRuntimeLogger(log);
  const address = required(config.temporal.address, 'TEMPORAL_ADDRESS');

  const pool = createPool(required(config.databaseUrl, 'DATABASE_URL'), config.databasePoolMax);
  await migrate(pool, log);
  const operator = await Connection.connect({ address });
  await ensureSearchAttributes(operator, config.temporal.namespace, log).finally(() => operator.close());
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({ connection, pool, config });
  const steps: ShutdownStep[] = [];

  if (config.bridge.enabled) {
    const nc = await connectNats(required(config.natsUrl, 'NATS_URL'), 'event-service-bridge', log);
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, config.stream);
    const temporal = await connectTemporal(address, config);
    const js = jetstream(nc);
    const bridge = createBridge({
      js, jsm, temporal, stream: config.stream, bridge: config.bridge, log,
      start: { taskQueue: config.temporal.taskQueue, lifecycle: config.lifecycle },
      sensitiveFields: config.sensitiveFields,
      deadLetters: createDeadLetters({ js, jsm, stream: config.stream, redact: createRedactor(config.sensitiveFields) }),
    });
    await bridge.start();
    steps.push(['bridge', () => bridge.stop()], ['nats', () => nc.drain()], ['temporal client', () => temporal.connection.close()]);
  }

  const running = worker.run();
  steps.push(['worker', async () => { worker.shutdown(); await running; }], ['temporal', () => connection.close()], ['database', () => pool.end()]);
  handleShutdown(log, () => steps);
  log.info({ taskQueue: config.temporal.taskQueue, bridge: config.bridge.enabled }, 'worker running');
  await running;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
