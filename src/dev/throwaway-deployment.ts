import type { Logger } from '../logger.js';
import { devPayloadKey, type PayloadKeyEnv } from './payload-key.js';
import { findFreePort } from './ports.js';
import { spawnServices } from './services.js';
import { startStack } from './stack.js';
import type { TemporalKind } from './temporal.js';

export interface ThrowawayDeployment {
  apiUrl: string;
  /** The worker's own health server: /health/live, /health/ready. */
  workerHealthUrl: string;
  databaseUrl: string;
  natsUrl: string;
  temporalAddress: string;
  temporalUiUrl: string;
  /** The key ring the API and worker encrypt Temporal payloads with, for clients that must read them. */
  payloadKeys: PayloadKeyEnv;
  /** Process ids by name: api, worker, temporal, nats, postgres. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * A whole deployment — Temporal, NATS, PostgreSQL, API and worker processes — on free ports with
 * its own data folder, brought up exactly as `npm start` does it. Tests and benchmarks use it so
 * they never touch a developer's running stack or whatever services the machine happens to run.
 */
export async function startThrowawayDeployment(opts: {
  dataDir: string;
  cacheDir: string;
  temporalCliPath?: string;
  /** The CLI's dev server (default) or Temporal's server on the deployment's PostgreSQL. */
  temporalKind?: TemporalKind;
  /** Temporal starts with no workflows. */
  freshTemporal?: boolean;
  env: Record<string, string>;
  log: Logger;
  /** Worker processes, 1 by default. */
  workers?: number;
  /** The API and the worker from `dist/` (built beforehand), as in production. */
  built?: boolean;
  /** More nats-server flags (a second site's `-c` config: its JetStream domain, its leaf node). */
  natsArgs?: string[];
  /** PostgreSQL settings (`wal_level=logical` for a store another site replicates). */
  postgresSettings?: Record<string, string>;
}): Promise<ThrowawayDeployment> {
  const [temporalPort, temporalUiPort, natsPort, postgresPort, apiPort, workerHealthPort] = (await Promise.all(
    Array.from({ length: 6 }, () => findFreePort()),
  )) as [number, number, number, number, number, number];
  // Encrypted as in production, with a key of this deployment's own unless the caller gives one.
  const payloadKeys = opts.env.PAYLOAD_KEYS
    ? {
        PAYLOAD_KEYS: opts.env.PAYLOAD_KEYS,
        PAYLOAD_KEY_ID: opts.env.PAYLOAD_KEY_ID ?? opts.env.PAYLOAD_KEYS.split(',').at(-1)!.split(':')[0]!,
      }
    : await devPayloadKey(opts.dataDir);
  const stack = await startStack({
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir,
    log: opts.log,
    temporal: {
      ...(opts.temporalKind && { kind: opts.temporalKind }),
      ...(opts.freshTemporal && { fresh: true }),
      port: temporalPort,
      uiPort: temporalUiPort,
      uiCodecEndpoint: `http://127.0.0.1:${apiPort}/codec`,
      ...(opts.temporalCliPath && { cliPath: opts.temporalCliPath }),
    },
    nats: { port: natsPort, ...(opts.natsArgs && { extraArgs: opts.natsArgs }) },
    postgres: { port: postgresPort, ...(opts.postgresSettings && { settings: opts.postgresSettings }) },
  });
  const urls = {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    workerHealthUrl: `http://127.0.0.1:${workerHealthPort}`,
    databaseUrl: stack.databaseUrl!,
    natsUrl: stack.natsUrl!,
    temporalAddress: stack.temporalAddress!,
    temporalUiUrl: stack.temporalUiUrl!,
  };
  const services = spawnServices({
    env: {
      ...payloadKeys,
      CODEC_CORS_ORIGINS: `http://localhost:${temporalUiPort},http://127.0.0.1:${temporalUiPort}`,
      ...opts.env,
      PORT: String(apiPort),
      WORKER_HEALTH_PORT: String(workerHealthPort),
      HOST: '127.0.0.1',
      DATABASE_URL: urls.databaseUrl,
      NATS_URL: urls.natsUrl,
      TEMPORAL_ADDRESS: urls.temporalAddress,
      TEMPORAL_UI_URL: urls.temporalUiUrl,
    },
    apiUrl: urls.apiUrl,
    log: opts.log,
    onExit: (name, code) => opts.log.error({ service: name, code }, 'service exited'),
    ...(opts.workers && { workers: opts.workers }),
    ...(opts.built && { built: true }),
    // Tests start right after: a worker still bundling its workflows would time out the first one.
    workerReadyUrl: `${urls.workerHealthUrl}/health/ready`,
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
  return { ...urls, payloadKeys, pids: { ...stack.pids, ...services.pids }, stop };
}
