import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Connection } from '@temporalio/client';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { runCli } from '../read-side/cli.js';
import { createPool } from '../store/pool.js';
import { connectTemporal } from '../temporal/client.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { cliProgress } from './cli-progress.js';
import { restore, verifyWithProgress } from './restore.js';
import { resolveTargets } from './targets.js';

// npm run restore -- <set folder> [--force]
runCli(async () => {
  const { values, positionals } = parseArgs({ options: { force: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1) throw new Error('usage: npm run restore -- <backup set folder> [--force]');
  const dir = resolve(positionals[0]!);
  // Before anything starts or connects: a corrupt set changes nothing anywhere.
  const verified = await verifyWithProgress(dir, cliProgress());
  const loaded = loadConfig();
  const log = createLogger('restore', loaded.logLevel === 'info' ? 'warn' : loaded.logLevel);
  const t = await resolveTargets(loaded, log, { start: true });
  const { config } = t;
  const pool = createPool(t.databaseUrl, 2, config.databaseTls);
  const nc = await connectNats(t.natsUrl, 'event-service-restore', log, config.natsTls);
  const temporal = await connectTemporal(t.temporalAddress, config);
  try {
    // connectTemporal made it with Connection.connect.
    await ensureSearchAttributes(temporal.connection as Connection, config.temporal.namespace, log);
    const began = Date.now();
    const r = await restore(
      dir,
      {
        pool,
        nc,
        js: jetstream(nc),
        jsm: await jetstreamManager(nc),
        temporal,
        config,
        start: { taskQueue: config.temporal.taskQueue, lifecycle: config.lifecycle },
        log,
        progress: cliProgress(),
      },
      { force: values.force, verified },
    );
    return {
      set: dir,
      seconds: (Date.now() - began) / 1000,
      rows: r.rows,
      messages: r.messages,
      stored_from_stream: r.storedFromStream,
      settled_messages: r.settledMessages,
      resumed: r.resumed,
      ...(t.dev && { next: 'npm start' }),
    };
  } finally {
    await temporal.connection.close();
    await nc.drain();
    await pool.end();
    await t.stop();
  }
});
