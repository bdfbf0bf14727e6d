import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { ensureStream } from '../nats/stream.js';
import { handleShutdown } from '../shutdown.js';
import { migrate } from '../store/migrate.js';
import { createTracing } from '../telemetry/tracing.js';
import { createDataConverter } from '../temporal/codec.js';
import { buildApp } from './app.js';
import { connectAppDeps } from './deps.js';

// Process entry for the HTTP API: wires the dependencies, then listens.
async function main(): Promise<void> {
  const config = loadConfig();
  // Refuse a production start without payload keys before touching anything.
  createDataConverter(config);
  const log = createLogger('api', config.logLevel);

  const connected = await connectAppDeps(config, log, createTracing(config, 'event-service-api'));
  const { deps } = connected;
  await migrate(deps.pool, log);
  await ensureStream(deps.jsm, config.stream);
  const app = await buildApp(deps);
  handleShutdown(log, () => [
    ['http', () => app.close()],
    ['connections', () => connected.close()],
  ]);
  const address = await app.listen({ host: config.http.host, port: config.http.port });
  log.info({ address }, 'api listening');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
