import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Publisher } from '../nats/publisher.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { Pool } from '../store/pool.js';
import type { ApiMetrics } from '../telemetry/api-metrics.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { HealthCheck } from './routes/health.js';

// What the HTTP app is built from: `buildApp` (app.ts) takes it, and the plugins and routes it
// registers read their part of it. A module of its own, so that they need not import app.ts.

export interface AppDeps {
  config: Config;
  log: Logger;
  publisher: Publisher;
  repo: EventsRepo;
  pool: Pool;
  /** The query API's, timelines', sessions' and stats' reads: `DATABASE_READ_URL`'s pool, else `pool`. Never written to. */
  readPool: Pool;
  temporal: Client;
  js: JetStreamClient;
  jsm: JetStreamManager;
  healthChecks: HealthCheck[];
  metrics: ApiMetrics;
  registry: Registry;
  /** Set when tracing is on. */
  tracing?: Tracing;
}
