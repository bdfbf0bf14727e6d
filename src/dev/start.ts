import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { printBanner } from './banner.js';
import { startCluster } from './cluster/start-cluster.js';
import { devPayloadKey } from './payload-key.js';
import { spawnServices } from './services.js';
import { startStack } from './stack.js';

// `npm start`: brings up whatever dependency is not configured (Temporal, NATS, PostgreSQL),
// then runs the API and the worker against them. Ctrl-C stops everything it started.
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('dev', config.logLevel);
  const { dev } = config;
  // `npm start -- --temporal server`: Temporal's own server on PostgreSQL instead of the CLI's dev server.
  // `npm start -- --cluster`: the multi-node production shape instead (cluster/start-cluster.ts).
  const { values: args } = parseArgs({
    options: { temporal: { type: 'string', default: dev.temporalKind }, cluster: { type: 'boolean', default: false } },
  });
  if (args.cluster) return startCluster(config, log);
  if (args.temporal !== 'cli' && args.temporal !== 'server') throw new Error(`--temporal is cli or server, not ${args.temporal}`);
  // The dev UI shows decrypted payloads through the API's codec endpoint, so its origin may call it.
  const uiOrigins = [`http://localhost:${dev.temporalUiPort}`, `http://127.0.0.1:${dev.temporalUiPort}`];

  const stack = await startStack({
    dataDir: dev.dataDir,
    cacheDir: dev.cacheDir,
    log,
    ...(!config.temporal.address && {
      temporal: {
        kind: args.temporal,
        port: dev.temporalPort,
        uiPort: dev.temporalUiPort,
        uiCodecEndpoint: `http://localhost:${config.http.port}/codec`,
        ...(dev.temporalCliPath && { cliPath: dev.temporalCliPath }),
      },
    }),
    ...(!config.natsUrl && { nats: { port: dev.natsPort } }),
    ...(!config.databaseUrl && { postgres: { port: dev.postgresPort } }),
    // DEV_PG_REPLICA: reads from a streaming replica, and a DATABASE_URL that survives its promotion.
    ...(!config.databaseUrl &&
      dev.postgresReplica !== 'off' && { postgresReplica: { port: dev.postgresReplicaPort, mode: dev.postgresReplica } }),
  });

  const env = {
    TEMPORAL_ADDRESS: config.temporal.address ?? stack.temporalAddress,
    NATS_URL: config.natsUrl ?? stack.natsUrl,
    DATABASE_URL: config.databaseUrl ?? stack.databaseFailoverUrl ?? stack.databaseUrl,
    DATABASE_READ_URL: config.databaseReadUrl ?? stack.databaseReadUrl,
  };
  const codecEnv = {
    // Payloads are encrypted in development too, so what runs here is what runs in production.
    ...(config.payloadCodec.keys.length === 0 && config.env !== 'production' && (await devPayloadKey(dev.dataDir))),
    ...(!config.temporal.address && { CODEC_CORS_ORIGINS: [...new Set([...config.payloadCodec.corsOrigins, ...uiOrigins])].join(',') }),
  };
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await services.stop();
    await stack.stop();
    process.exit(code);
  };
  const services = spawnServices({
    env: { ...env, ...codecEnv },
    apiUrl: `http://127.0.0.1:${config.http.port}`,
    log,
    onExit: (name, code) => {
      log.error({ service: name, code }, 'service exited; stopping the dev stack');
      void stopAll(1);
    },
  });
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  await services.ready;
  await printBanner(config, stack, log);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
