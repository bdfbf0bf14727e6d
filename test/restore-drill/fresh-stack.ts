import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Connection } from '@temporalio/client';
import { restore, type RestoreResult } from '../../src/backup/restore.js';
import type { BackupProgress } from '../../src/backup/backup.js';
import { loadConfig } from '../../src/config.js';
import { devPayloadKey, type PayloadKeyEnv } from '../../src/dev/payload-key.js';
import { findFreePort } from '../../src/dev/ports.js';
import { spawnServices } from '../../src/dev/services.js';
import { startStack } from '../../src/dev/stack.js';
import type { TemporalKind } from '../../src/dev/temporal.js';
import type { Logger } from '../../src/logger.js';
import { createPool } from '../../src/store/pool.js';
import { connectTemporal } from '../../src/temporal/client.js';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes.js';

// The drill's second stack: its dependencies first, on empty data, the set restored into them
// as `npm run restore` does it, then the API and the worker, as an operator would bring them up.

export interface RestoredStack {
  apiUrl: string;
  databaseUrl: string;
  natsUrl: string;
  restored: RestoreResult;
  /** Event ids the restored store had recorded as delivered, before any service ran. */
  deliveredAtRestore: Set<string>;
  /** From the start of this function: the restore itself, and until the API and the worker are ready. */
  restoreMs: number;
  readyMs: number;
  stop(): Promise<void>;
}

export async function restoreIntoFreshStack(opts: {
  set: string;
  dataDir: string;
  cacheDir: string;
  temporalCliPath?: string;
  temporalKind?: TemporalKind;
  log: Logger;
  progress?: BackupProgress;
  /** The key ring the lost stack ran with, as a team restores with its own PAYLOAD_KEYS; a key of the new data folder otherwise. */
  payloadKeys?: PayloadKeyEnv;
}): Promise<RestoredStack> {
  const began = Date.now();
  const [temporalPort, temporalUiPort, natsPort, postgresPort, apiPort, workerHealthPort] = await Promise.all(
    Array.from({ length: 6 }, () => findFreePort()),
  );
  const stack = await startStack({
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir,
    log: opts.log,
    temporal: {
      ...(opts.temporalKind && { kind: opts.temporalKind }),
      fresh: true,
      port: temporalPort!,
      uiPort: temporalUiPort!,
      ...(opts.temporalCliPath && { cliPath: opts.temporalCliPath }),
    },
    nats: { port: natsPort! },
    postgres: { port: postgresPort! },
  });
  const keys = opts.payloadKeys ?? (await devPayloadKey(opts.dataDir));
  const config = loadConfig({ ...keys, LOG_LEVEL: 'warn' });
  const pool = createPool(stack.databaseUrl!, 2);
  const nc = await connect({ servers: stack.natsUrl! });
  const temporal = await connectTemporal(stack.temporalAddress!, config);
  let restored: RestoreResult;
  let deliveredAtRestore: Set<string>;
  try {
    await ensureSearchAttributes(temporal.connection as Connection, config.temporal.namespace, opts.log);
    restored = await restore(opts.set, {
      pool,
      nc,
      js: jetstream(nc),
      jsm: await jetstreamManager(nc),
      temporal,
      config,
      start: { taskQueue: config.temporal.taskQueue, lifecycle: config.lifecycle },
      log: opts.log,
      ...(opts.progress && { progress: opts.progress }),
    });
    const { rows } = await pool.query<{ event_id: string }>(`SELECT DISTINCT event_id FROM webhook_deliveries WHERE status = 'delivered'`);
    deliveredAtRestore = new Set(rows.map((r) => r.event_id));
  } catch (err) {
    await stack.stop();
    throw err;
  } finally {
    await temporal.connection.close();
    await nc.close();
    await pool.end();
  }
  const restoreMs = Date.now() - began;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const services = spawnServices({
    env: {
      ...keys,
      LOG_LEVEL: 'fatal',
      PORT: String(apiPort),
      WORKER_HEALTH_PORT: String(workerHealthPort),
      HOST: '127.0.0.1',
      DATABASE_URL: stack.databaseUrl,
      NATS_URL: stack.natsUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
    },
    apiUrl,
    log: opts.log,
    stdio: 'ignore',
    workerReadyUrl: `http://127.0.0.1:${workerHealthPort}/health/ready`,
  });
  const stop = async () => {
    await services.stop();
    await stack.stop();
  };
  try {
    await services.ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    apiUrl,
    databaseUrl: stack.databaseUrl!,
    natsUrl: stack.natsUrl!,
    restored,
    deliveredAtRestore,
    restoreMs,
    readyMs: Date.now() - began,
    stop,
  };
}
