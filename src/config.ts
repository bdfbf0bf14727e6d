import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { type Env, envSchema } from './config-env.js';

export { parseDuration } from './config-env.js';

// The only reader of process.env. Every setting is listed in config-env.ts, parsed once here,
// and frozen, so a typo or a bad value stops the process at start with every problem listed at once.

export type Config = ReturnType<typeof toConfig>;

/** Every environment variable the service reads (deployment files are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

function toConfig(env: Env) {
  const cacheHome = env.XDG_CACHE_HOME ?? resolve(homedir(), '.cache');
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    http: { host: env.HOST, port: env.PORT, bodyLimit: env.BODY_LIMIT_BYTES },
    databaseUrl: env.DATABASE_URL,
    /** Reads that may lag the primary by the replica's lag (docs/disaster-recovery.md); unset: `databaseUrl`. */
    databaseReadUrl: env.DATABASE_READ_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    databaseTls: {
      mode: env.DATABASE_SSL_MODE ?? (env.DATABASE_SSL_CA ? 'verify-full' : 'disable'),
      caFile: env.DATABASE_SSL_CA,
      certFile: env.DATABASE_SSL_CERT,
      keyFile: env.DATABASE_SSL_KEY,
    },
    natsUrl: env.NATS_URL,
    natsTls: { caFile: env.NATS_TLS_CA, certFile: env.NATS_TLS_CERT, keyFile: env.NATS_TLS_KEY },
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      uiUrl: env.TEMPORAL_UI_URL,
      tls: {
        // An API key (Temporal Cloud) is only ever sent over TLS.
        enabled: env.TEMPORAL_TLS ?? Boolean(env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS_CERT || env.TEMPORAL_API_KEY),
        caFile: env.TEMPORAL_TLS_CA,
        certFile: env.TEMPORAL_TLS_CERT,
        keyFile: env.TEMPORAL_TLS_KEY,
        serverName: env.TEMPORAL_TLS_SERVER_NAME,
      },
      /** Secret: never logged. */
      apiKey: env.TEMPORAL_API_KEY,
    },
    stream: {
      name: env.STREAM_NAME,
      maxMessages: env.STREAM_MAX_MESSAGES,
      maxAgeMs: env.STREAM_MAX_AGE,
      duplicateWindowMs: env.STREAM_DUPLICATE_WINDOW,
      replicas: env.STREAM_REPLICAS,
    },
    site: { primaryDomain: env.SITE_PRIMARY_DOMAIN },
    bridge: {
      enabled: env.BRIDGE_ENABLED,
      consumer: env.BRIDGE_CONSUMER,
      maxInProgress: env.BRIDGE_MAX_IN_PROGRESS,
      retryDelayMs: env.BRIDGE_RETRY_DELAY,
      maxDeliver: env.BRIDGE_MAX_DELIVER,
      recheckAfterMs: env.BRIDGE_RECHECK_AFTER,
    },
    worker: {
      maxConcurrentActivities: env.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTasks: env.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS,
      webhookTimeoutMs: env.WEBHOOK_TIMEOUT,
      /** Private, loopback and link-local webhook destinations: allowed by default only outside production. */
      webhookAllowPrivate: env.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS ?? env.NODE_ENV !== 'production',
      healthPort: env.WORKER_HEALTH_PORT,
    },
    lifecycle: {
      retry: {
        initialIntervalMs: env.RETRY_INITIAL_INTERVAL,
        backoffCoefficient: env.RETRY_BACKOFF,
        maximumIntervalMs: env.RETRY_MAX_INTERVAL,
        maximumAttempts: env.RETRY_MAX_ATTEMPTS,
      },
      parkTimeoutMs: env.PARK_TIMEOUT,
    },
    /** Defaults of every subscription's delivery settings (a subscription's own `settings` win). */
    subscribers: {
      pauseAfterFailures: env.SUBSCRIBER_PAUSE_AFTER_FAILURES,
      failureWindowMs: env.SUBSCRIBER_FAILURE_WINDOW,
      maxWaitMs: env.SUBSCRIBER_MAX_WAIT,
      probeInitialMs: env.SUBSCRIBER_PROBE_INITIAL,
      probeMaxMs: env.SUBSCRIBER_PROBE_MAX,
      drainRate: env.SUBSCRIBER_DRAIN_RATE,
    },
    sensitiveFields: env.SENSITIVE_FIELDS,
    /** Stored encrypted with the payload key ring (src/crypto/field-crypto.ts). */
    encryptedFields: env.ENCRYPTED_FIELDS,
    tracing: {
      enabled: env.TRACING_ENABLED ?? env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined,
      endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
      sampleRatio: env.TRACING_SAMPLE_RATIO,
    },
    /** Where the Temporal SDK's own Prometheus exporter listens; by default a free loopback port, merged into /metrics. */
    temporalMetricsAddress: env.TEMPORAL_METRICS_ADDRESS,
    auth: {
      /** Secrets: never logged. */
      jwtSecret: env.AUTH_JWT_SECRET,
      jwksUrl: env.AUTH_JWKS_URL,
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
      /** `app:key` pairs, comma-separated: publishable keys for browser collection. */
      writeKeys: list(env.WRITE_KEYS ?? '').map((pair) => {
        const at = pair.indexOf(':');
        return { app: pair.slice(0, at), key: pair.slice(at + 1) };
      }),
    },
    ingest: {
      batchMaxEvents: env.BATCH_MAX_EVENTS,
      maxFutureSkewMs: env.MAX_FUTURE_SKEW,
      corsOrigins: list(env.CORS_ORIGINS),
      trustedProxies: list(env.TRUSTED_PROXIES),
      rateLimit: { max: env.RATE_LIMIT_MAX, windowMs: env.RATE_LIMIT_WINDOW },
    },
    payloadCodec: {
      /** `keyId:base64key` pairs (32-byte AES-256 keys), comma-separated. Secrets: never logged. */
      keys: list(env.PAYLOAD_KEYS ?? '').map((pair) => {
        const at = pair.indexOf(':');
        return { id: pair.slice(0, at), key: pair.slice(at + 1) };
      }),
      currentKeyId: env.PAYLOAD_KEY_ID,
      corsOrigins: list(env.CODEC_CORS_ORIGINS),
    },
    readSide: {
      projections: env.PROJECTIONS_ENABLED,
      /** The Redis URL may hold a password: never logged. */
      statsCache: {
        redisUrl: env.REDIS_URL,
        currentTtlMs: env.STATS_CACHE_CURRENT_TTL,
        closedTtlMs: env.STATS_CACHE_CLOSED_TTL,
        maxEntries: env.STATS_CACHE_MAX_ENTRIES,
      },
      partitions: {
        monthsAhead: env.EVENT_PARTITIONS_AHEAD,
        retentionMs: env.EVENT_RETENTION,
        intervalMs: env.EVENT_PARTITION_CHECK_INTERVAL,
      },
    },
    dev: {
      dataDir: resolve(env.DEV_DATA_DIR),
      testDataDir: resolve(env.TEST_DATA_DIR),
      cacheDir: resolve(env.DEV_CACHE_DIR ?? resolve(cacheHome, 'event-service', 'bin')),
      temporalCliPath: env.TEMPORAL_CLI_PATH,
      /** Which Temporal the dev and test stacks start: the CLI's SQLite dev server, or Temporal's server on PostgreSQL. */
      temporalKind: env.DEV_TEMPORAL,
      temporalPort: env.DEV_TEMPORAL_PORT,
      temporalUiPort: env.DEV_TEMPORAL_UI_PORT,
      natsPort: env.DEV_NATS_PORT,
      postgresPort: env.DEV_POSTGRES_PORT,
      /** A streaming replica beside the dev PostgreSQL, and whether commits wait for it. */
      postgresReplica: env.DEV_PG_REPLICA,
      postgresReplicaPort: env.DEV_POSTGRES_REPLICA_PORT,
    },
  } as const;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return deepFreeze(toConfig(parsed.data));
}

/**
 * NODE_ENV as loadConfig reads it, for what is made before or without a whole configuration (the
 * logger: JSON in production). Not a valid value: 'production', the careful answer.
 */
export function runtimeEnv(env: NodeJS.ProcessEnv = process.env): Config['env'] {
  const parsed = envSchema.shape.NODE_ENV.safeParse(env.NODE_ENV);
  return parsed.success ? parsed.data : 'production';
}

/** The service processes need their dependencies' addresses; only `npm start` may fill them in. */
export function required<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === '') {
    throw new ConfigError(`${name} is not set. Run \`npm start\` for the dev stack, or set ${name}.`);
  }
  return value;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The environment for a child process: ours, with the given settings added or replaced. */
export function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
