import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { loadConfig, required } from '../config.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { runCli } from '../read-side/cli.js';
import { migrate } from '../store/migrate.js';
import { createPool } from '../store/pool.js';
import { promoteSite } from './promote.js';

// npm run site:promote — on the standby site, once the primary is lost (and this site's
// PostgreSQL promoted): copies what the mirror holds into this site's events stream, leaving out
// what the store holds settled. Then start (or restart) the worker with its bridge, and the API.
runCli(async () => {
  const config = loadConfig();
  const log = createLogger('site-promote', config.logLevel);
  const pool = createPool(required(config.databaseUrl, 'DATABASE_URL'), 2, config.databaseTls);
  const nc = await connectNats(required(config.natsUrl, 'NATS_URL'), 'event-service-site-promote', log, config.natsTls);
  try {
    await migrate(pool, log);
    return await promoteSite({ js: jetstream(nc), jsm: await jetstreamManager(nc), pool, config, log });
  } finally {
    await nc.close();
    await pool.end();
  }
});
