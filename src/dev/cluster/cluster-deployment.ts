import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { childEnv } from '../../config.js';
import { spawnManaged } from '../child-process.js';
import { resolveNatsServer } from '../nats.js';
import { devPayloadKey, type PayloadKeyEnv } from '../payload-key.js';
import { findFreePort, waitUntil } from '../ports.js';
import { type RunningPostgres, startPostgres } from '../postgres.js';
import { failoverUrl, type ReplicaMode, startReplica } from '../postgres-replica.js';
import { type ServiceName, serviceArgs } from '../services.js';
import { resolveTemporalServer } from '../temporal-server.js';
import { type RunningNatsCluster, startNatsCluster } from './nats-cluster.js';
import { type Log, type Restartable, restartable, whenReady } from './restartable.js';
import { type RunningTemporalCluster, startTemporalCluster } from './temporal-cluster.js';

// The production shape on one machine: three NATS nodes with the streams at R3, Temporal's
// services as separate processes, PostgreSQL, and two APIs and two workers (each worker with its
// bridge on the one durable consumer). `npm start -- --cluster`, `npm run chaos -- --cluster` and
// `npm run bench -- --cluster` all bring it up through here.

export const CLUSTER_APIS = 2;
export const CLUSTER_WORKERS = 2;
export const CLUSTER_STREAM_REPLICAS = 3;
// Five Temporal processes keep up to 30 connections each (20 history/default, 10 visibility),
// beside four service pools: more than PostgreSQL's default 100. The replica needs as many.
const POSTGRES_SETTINGS = { max_connections: '300' };

export interface ClusterDeployment {
  apiUrls: string[];
  workerHealthUrls: string[];
  databaseUrl: string;
  /** With a replica (`postgresReplica`): its URL, which the APIs read from. */
  databaseReadUrl?: string;
  /** All three NATS nodes, comma-separated, as the services get them. */
  natsUrl: string;
  temporalAddress: string;
  temporalUiUrl: string;
  payloadKeys: PayloadKeyEnv;
  nats: RunningNatsCluster;
  temporal: RunningTemporalCluster;
  postgres: Restartable;
  postgresReplica?: Restartable;
  /** api-1, api-2, worker-1, worker-2. */
  services: Map<string, Restartable>;
  /** Every process's id by name, for benchmarks that read CPU time. */
  pids(): Record<string, number>;
  /** Where each process writes its output. */
  logDir: string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  dataDir: string;
  cacheDir: string;
  log: Log;
  /** Settings for the APIs and workers (LOG_LEVEL, processors, …). */
  env?: Record<string, string>;
  /** The first API's port (the second takes the next one); free ports otherwise. */
  apiPort?: number;
  temporalPort?: number;
  temporalUiPort?: number;
  /** Run `dist/` (built beforehand), as production does. */
  built?: boolean;
  /** A streaming replica of PostgreSQL (DEV_PG_REPLICA): the APIs read from it, the services' URL finds the writable server. */
  postgresReplica?: ReplicaMode;
}

export async function startClusterDeployment(opts: ClusterOptions): Promise<ClusterDeployment> {
  const { log, dataDir } = opts;
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const free = () => findFreePort();
  const apiPorts = opts.apiPort ? [opts.apiPort, opts.apiPort + 1] : [await free(), await free()];
  const [temporalPort, temporalUiPort, postgresPort] = [
    opts.temporalPort ?? (await free()),
    opts.temporalUiPort ?? (await free()),
    await free(),
  ];
  const healthPorts = [await free(), await free()];
  const apiUrls = apiPorts.map((p) => `http://127.0.0.1:${p}`);

  let databaseUrl = '';
  let primary: RunningPostgres | undefined;
  const postgres = restartable('postgres', log, async () => {
    primary = await startPostgres(dataDir, { port: postgresPort, settings: POSTGRES_SETTINGS }, log);
    databaseUrl = primary.databaseUrl;
    return primary.child;
  });
  const replicaMode = opts.postgresReplica;
  let databaseReadUrl: string | undefined;
  const replicaPort = replicaMode && (await free());
  const postgresReplica =
    replicaMode && replicaPort
      ? restartable('postgres-replica', log, async () => {
          const r = await startReplica(dataDir, primary!, { port: replicaPort, mode: replicaMode, settings: POSTGRES_SETTINGS }, log);
          databaseReadUrl = r.databaseUrl;
          return r.child;
        })
      : undefined;
  const stopped: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stopped.reverse()) await s();
  };
  try {
    const [natsBin, temporalBins] = await Promise.all([
      resolveNatsServer(opts.cacheDir, log),
      resolveTemporalServer(opts.cacheDir, log),
      postgres.start(),
    ]);
    stopped.push(() => postgres.stop());
    if (postgresReplica) {
      await postgresReplica.start();
      // Pushed after the primary's, so stopped before it: the primary's shutdown waits for no one.
      stopped.push(() => postgresReplica.stop());
    }
    const nats = await startNatsCluster(natsBin, dataDir, log);
    stopped.push(() => nats.stop());
    const temporal = await startTemporalCluster(
      temporalBins,
      dataDir,
      databaseUrl,
      { port: temporalPort, uiPort: temporalUiPort, uiCodecEndpoint: `${apiUrls[0]}/codec` },
      log,
    );
    stopped.push(() => temporal.stop());

    const payloadKeys = await devPayloadKey(dataDir);
    const env = {
      ...payloadKeys,
      CODEC_CORS_ORIGINS: `http://localhost:${temporalUiPort},http://127.0.0.1:${temporalUiPort}`,
      ...opts.env,
      HOST: '127.0.0.1',
      // Temporal keeps the primary's own URL: only the service follows a promotion (docs/disaster-recovery.md).
      DATABASE_URL: databaseReadUrl ? failoverUrl(databaseUrl, databaseReadUrl) : databaseUrl,
      ...(databaseReadUrl && { DATABASE_READ_URL: databaseReadUrl }),
      NATS_URL: nats.urls,
      STREAM_REPLICAS: String(CLUSTER_STREAM_REPLICAS),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_UI_URL: temporal.uiUrl,
    };
    const services = new Map<string, Restartable>();
    const add = (name: string, service: ServiceName, own: Record<string, string>, readyUrl: string) =>
      services.set(
        name,
        restartable(name, log, () =>
          whenReady(
            spawnManaged({
              name,
              command: process.execPath,
              args: serviceArgs(service, opts.built ?? false),
              env: childEnv({ ...env, ...own }),
              logFile: join(logDir, `${name}.log`),
              background: service === 'worker',
              log,
            }),
            (signal) =>
              waitUntil(
                `${name} at ${readyUrl}`,
                () =>
                  fetch(readyUrl).then(
                    (r) => r.ok,
                    () => false,
                  ),
                180_000,
                signal,
                250,
              ),
          ),
        ),
      );
    apiPorts.forEach((port, i) => add(`api-${i + 1}`, 'api', { PORT: String(port), WORKER_HEALTH_PORT: '0' }, `${apiUrls[i]}/health`));
    healthPorts.forEach((port, i) =>
      add(`worker-${i + 1}`, 'worker', { PORT: '0', WORKER_HEALTH_PORT: String(port) }, `http://127.0.0.1:${port}/health/ready`),
    );
    stopped.push(async () => void (await Promise.all([...services.values()].map((s) => s.stop()))));
    // The first API and worker create the streams at R3 (EVENTS; the dead letters) before the
    // others look for them.
    await services.get('api-1')!.start();
    await services.get('worker-1')!.start();
    await Promise.all([...services.values()].map((s) => s.start()));

    const all = (): Restartable[] => [
      postgres,
      ...(postgresReplica ? [postgresReplica] : []),
      ...nats.nodes,
      ...temporal.processes.values(),
      ...services.values(),
    ];
    return {
      apiUrls,
      workerHealthUrls: healthPorts.map((p) => `http://127.0.0.1:${p}`),
      databaseUrl,
      ...(databaseReadUrl && { databaseReadUrl }),
      natsUrl: nats.urls,
      temporalAddress: temporal.address,
      temporalUiUrl: temporal.uiUrl,
      payloadKeys,
      nats,
      temporal,
      postgres,
      ...(postgresReplica && { postgresReplica }),
      services,
      logDir,
      pids: () => Object.fromEntries(all().flatMap((p) => (p.pid === undefined ? [] : [[p.name, p.pid]]))),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
