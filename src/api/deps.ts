import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Config, required } from '../config.js';
import type { Logger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { createPublisher } from '../nats/publisher.js';
import { fieldCryptoFor } from '../crypto/field-crypto.js';
import { createEventsRepo } from '../store/events-repo.js';
import { createPool } from '../store/pool.js';
import { connectTemporal } from '../temporal/client.js';
import { createApiMetrics } from '../telemetry/api-metrics.js';
import { createRegistry, watchDisk, watchNatsConnection, watchPool } from '../telemetry/registry.js';
import { replicaName, watchReplicaLag } from '../telemetry/replica-lag.js';
import { activeTraceHeaders, type Tracing } from '../telemetry/tracing.js';
import type { AppDeps } from './app-deps.js';
import { createHealthChecks } from './health-checks.js';

export interface ConnectedDeps {
  deps: AppDeps;
  nc: NatsConnection;
  /** Closes the connections, last step of a shutdown. */
  close(): Promise<void>;
}

/** Connects everything the API needs, as the server entry and the in-process test apps use it. */
export async function connectAppDeps(config: Config, log: Logger, tracing?: Tracing): Promise<ConnectedDeps> {
  const fields = fieldCryptoFor(config);
  const pool = createPool(required(config.databaseUrl, 'DATABASE_URL'), config.databasePoolMax, config.databaseTls);
  const readPool = config.databaseReadUrl ? createPool(config.databaseReadUrl, config.databasePoolMax, config.databaseTls) : pool;
  const nc = await connectNats(required(config.natsUrl, 'NATS_URL'), 'event-service-api', log, config.natsTls);
  const temporal = await connectTemporal(required(config.temporal.address, 'TEMPORAL_ADDRESS'), config);
  const js = jetstream(nc);
  const registry = createRegistry();
  const metrics = createApiMetrics(registry);
  watchNatsConnection(registry, nc, 'api');
  watchPool(registry, pool);
  watchReplicaLag(registry, pool, config.databaseReadUrl ? { pool: readPool, name: replicaName(config.databaseReadUrl) } : undefined);
  watchDisk(registry, process.cwd());
  const deps: AppDeps = {
    config,
    log,
    publisher: createPublisher(nc, undefined, {
      settled: (event, outcome, startedAt) => {
        metrics.ingested(event.event_source, event.event_category, outcome);
        metrics.published(outcome !== 'unavailable', (performance.now() - startedAt) / 1000);
      },
      ...(tracing && { traceHeaders: activeTraceHeaders }),
    }),
    repo: createEventsRepo(pool, fields),
    pool,
    readPool,
    temporal,
    js,
    jsm: await jetstreamManager(nc),
    healthChecks: createHealthChecks({ nc, pool, temporal, diskPath: process.cwd() }),
    metrics,
    registry,
    ...(tracing && { tracing }),
  };
  return {
    deps,
    nc,
    async close() {
      if (!nc.isClosed()) await nc.drain();
      await temporal.connection.close();
      await pool.end();
      if (readPool !== pool) await readPool.end();
      await tracing?.shutdown();
    },
  };
}
