import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { devPayloadKey, type PayloadKeyEnv } from '../dev/payload-key.js';
import { isPortOpen } from '../dev/ports.js';
import { devDatabaseUrl } from '../dev/postgres.js';
import { startStack } from '../dev/stack.js';

// Where `npm run backup` and `npm run restore` find the stack: DATABASE_URL, NATS_URL and
// TEMPORAL_ADDRESS when set, else the dev stack `npm start` runs, on its fixed ports
// (DEV_POSTGRES_PORT, DEV_NATS_PORT, DEV_TEMPORAL_PORT) with its data in DEV_DATA_DIR. A restore
// into the dev stack wants it stopped (its worker would start runs while the rows load): it
// starts the dependencies itself, on the same ports and data, and stops them when done.

export interface Targets {
  databaseUrl: string;
  natsUrl: string;
  temporalAddress: string;
  /** The configuration, with the dev stack's payload key when none is configured. */
  config: Config;
  /** Whether these are the dev stack's own services. */
  dev: boolean;
  stop(): Promise<void>;
}

export async function resolveTargets(config: Config, log: Logger, { start }: { start: boolean }): Promise<Targets> {
  const { dev } = config;
  const explicit = Boolean(config.databaseUrl && config.natsUrl);
  const keyed =
    config.payloadCodec.keys.length > 0 || config.env === 'production' ? config : withDevKey(config, await devPayloadKey(dev.dataDir));
  const targets = {
    databaseUrl: config.databaseUrl ?? devDatabaseUrl(dev.postgresPort),
    natsUrl: config.natsUrl ?? `nats://127.0.0.1:${dev.natsPort}`,
    temporalAddress: config.temporal.address ?? `127.0.0.1:${dev.temporalPort}`,
    config: keyed,
    dev: !explicit,
    stop: async () => undefined,
  };
  if (explicit) return targets;
  const running = await Promise.all([dev.postgresPort, dev.natsPort, dev.temporalPort].map((p) => isPortOpen(p)));
  if (running.every(Boolean)) {
    if (start) throw new Error('the dev stack is running: stop `npm start` (Ctrl-C) first; the restore starts its databases itself');
    return targets;
  }
  if (running.some(Boolean))
    throw new Error(`the dev stack is half up (ports ${dev.postgresPort}, ${dev.natsPort}, ${dev.temporalPort}): stop what runs there`);
  if (!start) throw new Error('the dev stack is not running: start it with `npm start`, or set DATABASE_URL and NATS_URL');
  log.info({ dataDir: dev.dataDir }, "starting the dev stack's PostgreSQL, NATS and Temporal for the restore");
  const stack = await startStack({
    dataDir: dev.dataDir,
    cacheDir: dev.cacheDir,
    log,
    temporal: {
      kind: dev.temporalKind,
      port: dev.temporalPort,
      uiPort: dev.temporalUiPort,
      ...(dev.temporalCliPath && { cliPath: dev.temporalCliPath }),
    },
    nats: { port: dev.natsPort },
    postgres: { port: dev.postgresPort },
  });
  return { ...targets, stop: () => stack.stop() };
}

/** The dev stack's payload key, as `npm start` hands it to the services, so runs the restore starts are readable by the worker. */
function withDevKey(config: Config, env: PayloadKeyEnv): Config {
  const at = env.PAYLOAD_KEYS.indexOf(':');
  const key = { id: env.PAYLOAD_KEYS.slice(0, at), key: env.PAYLOAD_KEYS.slice(at + 1) };
  return { ...config, payloadCodec: { ...config.payloadCodec, keys: [key], currentKeyId: env.PAYLOAD_KEY_ID } };
}
