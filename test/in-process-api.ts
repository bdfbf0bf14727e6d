import type { Writable } from 'node:stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { loadConfig } from '../src/config.js';
import { createPublisher } from '../src/nats/publisher.js';
import { createEventsRepo } from '../src/store/events-repo.js';
import { createPool } from '../src/store/pool.js';
import { connectTemporal } from '../src/temporal/client.js';
import { stack } from './helpers.js';

/**
 * The API built in this process with real dependencies on the test stack, for settings the
 * shared API process does not have, or to see its log lines. Events it publishes go to the
 * stack's stream, so the stack's worker processes them like any other.
 */
export async function startInProcessApi(opts: { env?: Record<string, string>; logTo?: Writable; logLevel?: string } = {}): Promise<{
  app: FastifyInstance;
  /** Its NATS connection: close it to see how the API answers when JetStream is out of reach. */
  nc: NatsConnection;
  close(): Promise<void>;
}> {
  const s = stack();
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: s.databaseUrl, NATS_URL: s.natsUrl, TEMPORAL_ADDRESS: s.temporalAddress, ...opts.env });
  const log = opts.logTo ? pino({ level: opts.logLevel ?? 'trace' }, opts.logTo) : pino({ level: 'silent' });
  const pool = createPool(s.databaseUrl, 2);
  const nc = await connect({ servers: s.natsUrl });
  const js = jetstream(nc);
  const temporal = await connectTemporal(s.temporalAddress, config);
  const app = await buildApp({
    config,
    log,
    publisher: createPublisher(nc),
    repo: createEventsRepo(pool),
    pool,
    temporal,
    js,
    jsm: await jetstreamManager(nc),
    healthChecks: [],
  });
  await app.ready();
  return {
    app,
    nc,
    async close() {
      await app.close();
      if (!nc.isClosed()) await nc.drain();
      await temporal.connection.close();
      await pool.end();
    },
  };
}
