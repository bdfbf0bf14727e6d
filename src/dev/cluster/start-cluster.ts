import { resolve } from 'node:path';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { startClusterDeployment } from './cluster-deployment.js';

/**
 * `npm start -- --cluster`: the production shape on this machine (three NATS nodes at R3,
 * Temporal's services split, two APIs, two workers), its data in <DEV_DATA_DIR>-cluster and each
 * process's output in its logs/ folder. Ctrl-C stops every process it started.
 */
export async function startCluster(config: Config, log: Logger): Promise<void> {
  const { dev } = config;
  const dataDir = resolve(`${dev.dataDir}-cluster`);
  log.info({ dataDir }, 'starting the cluster profile: 3 NATS nodes, 5 Temporal processes, PostgreSQL, 2 APIs, 2 workers');
  const cluster = await startClusterDeployment({
    dataDir,
    cacheDir: dev.cacheDir,
    log,
    apiPort: config.http.port,
    temporalPort: dev.temporalPort,
    temporalUiPort: dev.temporalUiPort,
    ...(dev.postgresReplica !== 'off' && { postgresReplica: dev.postgresReplica }),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info({}, 'stopping the cluster');
    await cluster.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  const lines = [
    'Event Service cluster is up.',
    `  APIs          ${cluster.apiUrls.join('  ')}   (OpenAPI at /docs, demo at /demo, metrics at /metrics)`,
    `  workers       ${cluster.workerHealthUrls.map((u) => `${u}/health/ready`).join('  ')}`,
    `  Temporal UI   ${cluster.temporalUiUrl}   (frontend ${cluster.temporalAddress}; history-1, history-2, matching, worker)`,
    `  NATS          ${cluster.natsUrl}   (EVENTS and its dead letters at R3)`,
    `  PostgreSQL    ${cluster.databaseUrl.replace(/:[^:@/]+@/, ':***@')}`,
    ...(cluster.databaseReadUrl
      ? [`  replica       ${cluster.databaseReadUrl.replace(/:[^:@/]+@/, ':***@')}   (the APIs read here; DEV_PG_REPLICA)`]
      : []),
    `  configs       ${dataDir}/nats-cluster/*.conf, ${dataDir}/temporal-cluster/config/*.yaml`,
    `  logs          ${cluster.logDir}/ (and beside each config)`,
    `Try: curl -XPOST ${cluster.apiUrls[0]}/api/events/create -H 'content-type: application/json' -d '{"event_type":"user_created","data":{"id":1}}'`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}
