import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { loadConfig, required } from '../config.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { createPublisher } from '../nats/publisher.js';
import { ensureStream } from '../nats/stream.js';
import { handleShutdown } from '../shutdown.js';
import { createEventsRepo } from '../store/events-repo.js';
import { migrate } from '../store/migrate.js';
import { createPool } from '../store/pool.js';
import { connectTemporal } from '../temporal/client.js';
import { buildApp } from './app.js';
import { createHealthChecks } from './health-checks.js';

// Process entry for the HTTP API: wires the dependencies, then listens.
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('api', config.logLevel);

  const pool = createPool(required(config.databaseUrl, 'DATABASE_URL'), config.databasePoolMax);
  await migrate(pool, log);
  const nc = await connectNats(required(config.natsUrl, 'NATS_URL'), 'event-service-api', log);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, config.stream);
  const temporal = await connectTemporal(required(config.temporal.address, 'TEMPORAL_ADDRESS'), config);

  const app = await buildApp({
    config,
    log,
    publisher: createPublisher(js),
    repo: createEventsRepo(pool),
    pool,
    temporal,
    js,
    jsm,
    healthChecks: createHealthChecks({ nc, pool, temporal, diskPath: process.cwd() }),
  });
  handleShutdown(log, () => [
    ['http', () => app.close()],
    ['nats', () => nc.drain()],
    ['temporal', () => temporal.connection.close()],
    ['database', () => pool.end()],
  ]);
  const address = await app.listen({ host: config.http.host, port: config.http.port });
  log.info({ address }, 'api listening');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
