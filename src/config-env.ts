import { z } from 'zod';

// Every environment variable the service reads, with its type and default: the one list that
// src/config.ts parses (once, at start) and shapes into the configuration the code uses.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 500ms, 10s, 5m, 2h or 30d')
  .transform(parseDuration);

export const envSchema = z.object({
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

export type Env = z.infer<typeof envSchema>;

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms'];
  return Number(match[1]) * unit;
}
