import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

// The only reader of process.env. Every setting is listed here, parsed once, and frozen, so a
// typo or a bad value stops the process at start with every problem listed at once.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 500ms, 10s, 5m, 2h or 30d')
  .transform(parseDuration);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),

  DATABASE_URL: z.url().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().positive().default(20),
  NATS_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('events'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),

  // TLS per hop: file paths of PEM certificates and keys (a client pair only where the server asks).
  DATABASE_SSL_MODE: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).optional(),
  DATABASE_SSL_CA: z.string().optional(),
  DATABASE_SSL_CERT: z.string().optional(),
  DATABASE_SSL_KEY: z.string().optional(),
  NATS_TLS_CA: z.string().optional(),
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS: bool.optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),

  STREAM_NAME: z.string().default('EVENTS'),
  STREAM_MAX_MESSAGES: z.coerce.number().int().positive().default(1_000_000),
  STREAM_MAX_AGE: duration.default(30 * 86_400_000),
  STREAM_DUPLICATE_WINDOW: duration.default(2 * 60_000),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  BRIDGE_ENABLED: bool.default(true),
  BRIDGE_CONSUMER: z.string().default('event-bridge'),
  BRIDGE_MAX_IN_PROGRESS: z.coerce.number().int().positive().default(48),
  BRIDGE_RETRY_DELAY: duration.default(1_000),
  BRIDGE_MAX_DELIVER: z.coerce.number().int().positive().default(10),
  BRIDGE_RECHECK_AFTER: duration.default(30_000),
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3001),

  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(200),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(100),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(5_000),
  WEBHOOK_TIMEOUT: duration.default(10_000),
  WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: bool.optional(),
  RETRY_INITIAL_INTERVAL: duration.default(1_000),
  RETRY_BACKOFF: z.coerce.number().min(1).default(2),
  RETRY_MAX_INTERVAL: duration.default(5 * 60_000),
  RETRY_MAX_ATTEMPTS: z.coerce.number().int().positive().default(10),
  PARK_TIMEOUT: duration.default(30 * 86_400_000),

  AUTH_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  WRITE_KEYS: z
    .string()
    .regex(/^\s*[^:,\s]+:[^:,\s]+\s*(,\s*[^:,\s]+:[^:,\s]+\s*)*$/, 'comma-separated app:key pairs')
    .optional(),
  CORS_ORIGINS: z.string().default(''),
  TRUSTED_PROXIES: z.string().default(''),
  RATE_LIMIT_MAX: z.coerce.number().int().positive().default(100_000),
  RATE_LIMIT_WINDOW: duration.default(60_000),
  BATCH_MAX_EVENTS: z.coerce.number().int().positive().default(500),
  MAX_FUTURE_SKEW: duration.default(5 * 60_000),

  PAYLOAD_KEYS: z
    .string()
    .regex(/^\s*[^:,\s]+:[A-Za-z0-9+/=]+\s*(,\s*[^:,\s]+:[A-Za-z0-9+/=]+\s*)*$/, 'comma-separated keyId:base64key pairs')
    .optional(),
  PAYLOAD_KEY_ID: z.string().optional(),
  CODEC_CORS_ORIGINS: z.string().default('http://localhost:8233'),

  SENSITIVE_FIELDS: z
    .string()
    .default('password,ssn,credit_card')
    .transform((s) => s.split(',').map((f) => f.trim().toLowerCase()).filter(Boolean)),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1024 * 1024),

  // Observability (README "Observing it"). Tracing is on when an OTLP endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  TRACING_ENABLED: bool.optional(),
  TRACING_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(1),
  TEMPORAL_METRICS_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'host:port').optional(),

  // The read side (issue 11): partitioned store, query API, projections.
  EVENT_PARTITIONS_AHEAD: z.coerce.number().int().min(0).max(24).default(3),
  EVENT_RETENTION: duration.optional(),
  EVENT_PARTITION_CHECK_INTERVAL: duration.default(3_600_000),
  PROJECTIONS_ENABLED: bool.default(true),
  REDIS_URL: z.url().optional(),
  STATS_CACHE_CURRENT_TTL: duration.default(5_000),
  STATS_CACHE_CLOSED_TTL: duration.default(3_600_000),
  STATS_CACHE_MAX_ENTRIES: z.coerce.number().int().positive().default(1_000),

  DEV_DATA_DIR: z.string().default('.data/dev'),
  TEST_DATA_DIR: z.string().default('.data/test'),
  DEV_CACHE_DIR: z.string().optional(),
  XDG_CACHE_HOME: z.string().optional(),
  TEMPORAL_CLI_PATH: z.string().optional(),
  DEV_TEMPORAL: z.enum(['cli', 'server']).default('cli'),
  DEV_TEMPORAL_PORT: z.coerce.number().int().default(7233),
  DEV_TEMPORAL_UI_PORT: z.coerce.number().int().default(8233),
  DEV_NATS_PORT: z.coerce.number().int().default(4223),
  DEV_POSTGRES_PORT: z.coerce.number().int().default(5433),
}).superRefine((env, ctx) => {
  const pairs = [['DATABASE_SSL_CERT', 'DATABASE_SSL_KEY'], ['NATS_TLS_CERT', 'NATS_TLS_KEY'], ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']] as const;
  for (const [cert, key] of pairs) {
    if (Boolean(env[cert]) !== Boolean(env[key])) ctx.addIssue({ code: 'custom', path: [env[cert] ? key : cert], message: `${cert} and ${key} go together` });
  }
  // pg lets an sslmode in the URL override the TLS options, which would silently undo the setting.
  if (env.DATABASE_SSL_MODE && env.DATABASE_URL && /[?&]sslmode=/.test(env.DATABASE_URL)) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'has an sslmode: set it with DATABASE_SSL_MODE only' });
  }
});

export type Config = ReturnType<typeof toConfig>;

/** Every environment variable the service reads (deployment files are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

function toConfig(env: z.infer<typeof schema>) {
  const cacheHome = env.XDG_CACHE_HOME ?? resolve(homedir(), '.cache');
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    http: { host: env.HOST, port: env.PORT, bodyLimit: env.BODY_LIMIT_BYTES },
    databaseUrl: env.DATABASE_URL,
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
    sensitiveFields: env.SENSITIVE_FIELDS,
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
      statsCache: { redisUrl: env.REDIS_URL, currentTtlMs: env.STATS_CACHE_CURRENT_TTL, closedTtlMs: env.STATS_CACHE_CLOSED_TTL, maxEntries: env.STATS_CACHE_MAX_ENTRIES },
      partitions: { monthsAhead: env.EVENT_PARTITIONS_AHEAD, retentionMs: env.EVENT_RETENTION, intervalMs: env.EVENT_PARTITION_CHECK_INTERVAL },
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
    },
  } as const;
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms'];
  return Number(match[1]) * unit;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return deepFreeze(toConfig(parsed.data));
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
