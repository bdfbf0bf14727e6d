import { z } from 'zod';
import { isDatabaseUrl } from './store/database-url.js';

// Every environment variable the service reads, with its type, default and description: the one
// list that src/config.ts parses (once, at start) and shapes into the configuration the code uses,
// and that docs/configuration.md is generated from (`npm run docs:config`, src/config-doc.ts).

export const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

export const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 500ms, 10s, 5m, 2h or 30d')
  .transform(parseDuration);

/** Read only by the dev stack and the tests (`config.dev`), never by the service's processes. */
const devShape = {
  DEV_DATA_DIR: z.string().default('.data/dev').describe('`npm start`: where the dev stack keeps its data'),
  TEST_DATA_DIR: z.string().default('.data/test').describe('`npm test`: where the test stack keeps its data'),
  DEV_CACHE_DIR: z
    .string()
    .optional()
    .describe('where the dev stack keeps the binaries it builds; unset: `$XDG_CACHE_HOME/event-service/bin`'),
  XDG_CACHE_HOME: z.string().optional().describe('base of the default `DEV_CACHE_DIR`; unset: `~/.cache`'),
  TEMPORAL_CLI_PATH: z
    .string()
    .optional()
    .describe('a `temporal` CLI binary for the dev stack; unset: `temporal` on `PATH`, else one built into `DEV_CACHE_DIR`'),
  DEV_TEMPORAL: z
    .enum(['cli', 'server'])
    .default('cli')
    .describe(
      "which Temporal `npm start` and `npm test` start: `cli` the CLI's dev server (SQLite), `server` Temporal's own server on the stack's PostgreSQL (`npm start -- --temporal server` does the same)",
    ),
  DEV_TEMPORAL_PORT: z.coerce.number().int().default(7233).describe('`npm start`: dev Temporal frontend port'),
  DEV_TEMPORAL_UI_PORT: z.coerce.number().int().default(8233).describe('`npm start`: dev Temporal UI port'),
  DEV_NATS_PORT: z.coerce.number().int().default(4223).describe('`npm start`: dev NATS port'),
  DEV_POSTGRES_PORT: z.coerce.number().int().default(5433).describe('`npm start`: dev PostgreSQL port'),
  DEV_PG_REPLICA: z
    .enum(['off', 'sync', 'async'])
    .default('off')
    .describe(
      '`npm start` (and `--cluster`): also run a streaming replica of the dev PostgreSQL, reads served by it (`DATABASE_READ_URL`) and `DATABASE_URL` listing both servers; `sync` waits for the replica at each commit, so a failover loses nothing (docs/disaster-recovery.md)',
    ),
  DEV_POSTGRES_REPLICA_PORT: z.coerce.number().int().default(5434).describe('`npm start`: dev PostgreSQL replica port'),
};

/** The variables of `devShape`: documented apart from the service's own settings. */
export const DEV_ONLY_VARIABLES: readonly string[] = Object.keys(devShape);

export const envSchema = z
  .object({
    NODE_ENV: z
      .enum(['development', 'test', 'production'])
      .default('development')
      .describe('`production` refuses to start without authentication and payload keys, and refuses private webhook destinations'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
    HOST: z.string().default('0.0.0.0').describe('address the API listens on'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('port the API listens on'),

    DATABASE_URL: z
      .string()
      .refine(isDatabaseUrl, "a URL, or libpq's multi-host form postgres://user:pw@host1:port1,host2:port2/db")
      .optional()
      .describe(
        "PostgreSQL connection string; several `host:port` pairs with `target_session_attrs=read-write` (libpq's form) connect to whichever of them takes writes, so a promoted replica is found without a restart; unset, only `npm start` and the tests may fill it in (the dev stack)",
      ),
    DATABASE_READ_URL: z
      .string()
      .refine(isDatabaseUrl, "a URL, or libpq's multi-host form")
      .optional()
      .describe(
        'PostgreSQL read replica for the query API, timelines, sessions and stats (a second pool, never written to); unset: they read from `DATABASE_URL`',
      ),
    DATABASE_POOL_MAX: z.coerce.number().int().positive().default(20).describe('PostgreSQL connections per process'),
    NATS_URL: z.string().optional().describe('NATS server(s), comma-separated; unset, filled in by the dev stack only'),
    TEMPORAL_ADDRESS: z.string().optional().describe('Temporal frontend `host:port`; unset, filled in by the dev stack only'),
    TEMPORAL_NAMESPACE: z.string().default('default').describe('Temporal namespace'),
    TEMPORAL_TASK_QUEUE: z.string().default('events').describe('task queue of the event workflows'),
    TEMPORAL_UI_URL: z.url().default('http://localhost:8233').describe('base of the Temporal UI links the API returns'),

    // TLS per hop: file paths of PEM certificates and keys (a client pair only where the server asks).
    DATABASE_SSL_MODE: z
      .enum(['disable', 'require', 'verify-ca', 'verify-full'])
      .optional()
      .describe(
        "TLS to PostgreSQL, as libpq's `sslmode` (`require` encrypts only; `verify-full` checks the chain and the host name); unset: `verify-full` when `DATABASE_SSL_CA` is set, else `disable`. Do not also put `sslmode` in `DATABASE_URL`",
      ),
    DATABASE_SSL_CA: z.string().optional().describe("PEM file: the CA that signed PostgreSQL's certificate"),
    DATABASE_SSL_CERT: z
      .string()
      .optional()
      .describe('PEM file: client certificate for PostgreSQL, where the server asks for one (with `DATABASE_SSL_KEY`)'),
    DATABASE_SSL_KEY: z.string().optional().describe('PEM file: the key of `DATABASE_SSL_CERT`'),
    NATS_TLS_CA: z.string().optional().describe("PEM file: the CA that signed the NATS servers' certificates"),
    NATS_TLS_CERT: z
      .string()
      .optional()
      .describe('PEM file: client certificate for NATS servers run with `--tlsverify` (with `NATS_TLS_KEY`)'),
    NATS_TLS_KEY: z.string().optional().describe('PEM file: the key of `NATS_TLS_CERT`'),
    TEMPORAL_TLS: bool
      .optional()
      .describe(
        "TLS to Temporal, with the system's CAs unless `TEMPORAL_TLS_CA` is given; unset: on when `TEMPORAL_TLS_CA`, `TEMPORAL_TLS_CERT` or `TEMPORAL_API_KEY` is set",
      ),
    TEMPORAL_TLS_CA: z.string().optional().describe("PEM file: the CA of the Temporal server's certificate"),
    TEMPORAL_TLS_CERT: z
      .string()
      .optional()
      .describe("PEM file: client certificate for mTLS to Temporal (Temporal Cloud's certificate auth; with `TEMPORAL_TLS_KEY`)"),
    TEMPORAL_TLS_KEY: z.string().optional().describe('PEM file: the key of `TEMPORAL_TLS_CERT`'),
    TEMPORAL_TLS_SERVER_NAME: z
      .string()
      .optional()
      .describe("name to verify the Temporal server's certificate against, when it differs from the address"),
    TEMPORAL_API_KEY: z.string().optional().describe('Temporal Cloud API key, sent only over TLS. Secret'),

    STREAM_NAME: z.string().default('EVENTS').describe('JetStream stream of the events (subjects `events.>`)'),
    STREAM_MAX_MESSAGES: z.coerce
      .number()
      .int()
      .positive()
      .default(1_000_000)
      .describe(
        'stream limit: messages kept; processed ones are trimmed past 90 %, and a stream full of unprocessed events refuses new ones (503)',
      ),
    STREAM_MAX_AGE: duration.default(30 * 86_400_000).describe('stream limit: age of the messages kept'),
    STREAM_DUPLICATE_WINDOW: duration.default(2 * 60_000).describe('a repeated event id within this window is stored once by JetStream'),
    STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1).describe('stream replicas (3 on a NATS cluster)'),
    SITE_PRIMARY_DOMAIN: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'a JetStream domain: letters, digits, `-` and `_`')
      .optional()
      .describe(
        'a standby site: the JetStream domain of the primary site whose events stream `npm run site:standby` mirrors here (docs/disaster-recovery.md)',
      ),
    BRIDGE_ENABLED: bool
      .default(true)
      .describe('run the stream → workflow bridge in the worker process (`false`: the worker only runs workflows)'),
    BRIDGE_CONSUMER: z.string().default('event-bridge').describe("durable consumer shared by every worker's bridge"),
    BRIDGE_MAX_IN_PROGRESS: z.coerce
      .number()
      .int()
      .positive()
      .default(48)
      .describe(
        'events in progress at once per bridge (started, not yet completed, parked or discarded); the rest wait in the stream. Keep it below `WORKER_MAX_CONCURRENT_WORKFLOW_TASKS`',
      ),
    BRIDGE_RETRY_DELAY: duration
      .default(1_000)
      .describe('first redelivery delay when a workflow cannot be started; doubles per delivery up to 1 minute'),
    BRIDGE_MAX_DELIVER: z.coerce
      .number()
      .int()
      .positive()
      .default(10)
      .describe(
        'start failures that no gRPC status explains, per message and worker process, after which the message is dead-lettered (never for an outage, however long)',
      ),
    BRIDGE_RECHECK_AFTER: duration
      .default(30_000)
      .describe('an event held in progress this long is checked with Temporal, and its place freed if it settled elsewhere'),
    WORKER_HEALTH_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(3001)
      .describe("port of the worker's `/health/live`, `/health/ready` and `/metrics`"),

    WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(200).describe('activity slots per worker'),
    WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(100).describe('workflow task slots per worker'),
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce
      .number()
      .int()
      .min(0)
      .default(5_000)
      .describe("workflows kept in the worker's cache (fewer: histories replayed from scratch)"),
    WEBHOOK_TIMEOUT: duration.default(10_000).describe('how long one webhook delivery may take'),
    WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: bool
      .optional()
      .describe('deliver webhooks to private, loopback and link-local addresses; unset: allowed except with `NODE_ENV=production`'),
    SUBSCRIBER_PAUSE_AFTER_FAILURES: z.coerce
      .number()
      .int()
      .positive()
      .default(5)
      .describe(
        'a subscriber is paused after this many failed deliveries in a row (within `SUBSCRIBER_FAILURE_WINDOW`); its deliveries then wait. Per subscription: `settings.pause_after_failures`',
      ),
    SUBSCRIBER_FAILURE_WINDOW: duration
      .default(10 * 60_000)
      .describe('a run of failures older than this starts again from one. Per subscription: `settings.failure_window`'),
    SUBSCRIBER_MAX_WAIT: duration
      .default(3 * 86_400_000)
      .describe('a delivery waiting longer than this ends `expired` (listed, re-sendable). Per subscription: `settings.max_wait`'),
    SUBSCRIBER_PROBE_INITIAL: duration
      .default(30_000)
      .describe("a paused subscriber's first probe (its oldest waiting delivery sent again) comes this long after the pause"),
    SUBSCRIBER_PROBE_MAX: duration.default(15 * 60_000).describe('the probes back off, doubling, up to this'),
    SUBSCRIBER_DRAIN_RATE: z.coerce
      .number()
      .positive()
      .default(20)
      .describe('waiting deliveries sent per second once a subscriber resumes. Per subscription: `settings.drain_rate`'),
    RETRY_INITIAL_INTERVAL: duration.default(1_000).describe('processing retry: first delay'),
    RETRY_BACKOFF: z.coerce.number().min(1).default(2).describe('processing retry: backoff coefficient'),
    RETRY_MAX_INTERVAL: duration.default(5 * 60_000).describe('processing retry: longest delay'),
    RETRY_MAX_ATTEMPTS: z.coerce
      .number()
      .int()
      .positive()
      .default(10)
      .describe('processing attempts before the event is `failed` (parked)'),
    PARK_TIMEOUT: duration
      .default(30 * 86_400_000)
      .describe(
        "how long a failed event's workflow waits for `reprocess` or `discard` before it closes (still `failed`, still reprocessable)",
      ),

    AUTH_JWT_SECRET: z
      .string()
      .min(32, 'at least 32 characters')
      .optional()
      .describe('HS256 secret (at least 32 characters) for bearer tokens. Secret'),
    AUTH_JWKS_URL: z.url().optional().describe('JWKS URL for bearer tokens signed by an identity provider (RS/PS/ES/EdDSA)'),
    AUTH_ISSUER: z.string().optional().describe('required `iss` of tokens'),
    AUTH_AUDIENCE: z.string().optional().describe('required `aud` of tokens'),
    WRITE_KEYS: z
      .string()
      .regex(/^\s*[^:,\s]+:[^:,\s]+\s*(,\s*[^:,\s]+:[^:,\s]+\s*)*$/, 'comma-separated app:key pairs')
      .optional()
      .describe('publishable browser write keys, `app:key` pairs, comma-separated'),
    CORS_ORIGINS: z.string().default('').describe('browser origins allowed to call the API, comma-separated, `*` for any'),
    TRUSTED_PROXIES: z
      .string()
      .default('')
      .describe('proxy addresses or CIDR ranges, comma-separated, whose `X-Forwarded-For` is believed'),
    RATE_LIMIT_MAX: z.coerce
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe('requests per caller per `RATE_LIMIT_WINDOW`, counted per API process'),
    RATE_LIMIT_WINDOW: duration.default(60_000).describe('window of `RATE_LIMIT_MAX`'),
    BATCH_MAX_EVENTS: z.coerce.number().int().positive().default(500).describe('events in one frontend batch'),
    MAX_FUTURE_SKEW: duration.default(5 * 60_000).describe('event timestamps later than received + this are clamped and flagged'),

    PAYLOAD_KEYS: z
      .string()
      .regex(/^\s*[^:,\s]+:[A-Za-z0-9+/=]+\s*(,\s*[^:,\s]+:[A-Za-z0-9+/=]+\s*)*$/, 'comma-separated keyId:base64key pairs')
      .optional()
      .describe(
        'Temporal payload key ring, `keyId:base64key` pairs (32-byte keys), comma-separated; required in production (dev stack and tests: one generated and kept in their data folder). Secret',
      ),
    PAYLOAD_KEY_ID: z.string().optional().describe('key that encrypts new payloads; unset: the last key of `PAYLOAD_KEYS`'),
    CODEC_CORS_ORIGINS: z
      .string()
      .default('http://localhost:8233')
      .describe('origins (the Temporal UI) allowed to call `/codec`, comma-separated'),

    SENSITIVE_FIELDS: z
      .string()
      .default('password,ssn,credit_card')
      .transform((s) =>
        s
          .split(',')
          .map((f) => f.trim().toLowerCase())
          .filter(Boolean),
      )
      .describe('field names, comma-separated, redacted case-insensitively at any depth of `data` and `metadata` before publishing'),
    ENCRYPTED_FIELDS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((f) => f.trim().toLowerCase())
          .filter(Boolean),
      )
      .describe(
        'field names, comma-separated (`email,phone`), matched as `SENSITIVE_FIELDS` are and stored in PostgreSQL encrypted with `PAYLOAD_KEYS` (required then); readable in clear with the `events:decrypt` scope, found by keyed hash. Unset: none (docs/disaster-recovery.md)',
      ),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(1024 * 1024)
      .describe('largest request body; larger gets 413'),

    // Observability (docs/observability.md). Tracing is on when an OTLP endpoint is set.
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .url()
      .optional()
      .describe(
        'OTLP/HTTP collector base URL (`http://collector:4318`); setting it turns tracing on. The exporter reads the other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout) itself',
      ),
    TRACING_ENABLED: bool
      .optional()
      .describe(
        'force tracing on (exporting to `http://localhost:4318` without an endpoint) or off; unset: on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set',
      ),
    TRACING_SAMPLE_RATIO: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('share of new traces kept; a request arriving with a sampled `traceparent` is kept'),
    TEMPORAL_METRICS_ADDRESS: z
      .string()
      .regex(/^[^:\s]+:\d+$/, 'host:port')
      .optional()
      .describe(
        "where the worker's Temporal SDK Prometheus exporter listens (`0.0.0.0:9464` to scrape it on its own); unset: a free loopback port. Its metrics are in the worker's `/metrics` either way",
      ),

    // The read side (issue 11): partitioned store, query API, projections.
    EVENT_PARTITIONS_AHEAD: z.coerce
      .number()
      .int()
      .min(0)
      .max(24)
      .default(3)
      .describe('monthly partitions of `events` the worker makes ahead of the current month'),
    EVENT_RETENTION: duration
      .optional()
      .describe(
        'months of `events` that ended longer ago than this (`400d`) are dropped whole, with their history and deliveries; unset: keep all',
      ),
    EVENT_PARTITION_CHECK_INTERVAL: duration
      .default(3_600_000)
      .describe('how often the worker makes partitions ahead and applies the retention'),
    PROJECTIONS_ENABLED: bool
      .default(true)
      .describe('the worker keeps the read models (counts, active users, sessions) as it processes events'),
    REDIS_URL: z
      .url()
      .optional()
      .describe(
        'Redis for the stats cache, shared by every API process; unset: an in-process LRU per process. Secret when it holds a password',
      ),
    STATS_CACHE_CURRENT_TTL: duration.default(5_000).describe('how long a stats answer about a period still open is cached'),
    STATS_CACHE_CLOSED_TTL: duration
      .default(3_600_000)
      .describe('how long a stats answer about a period that ended over 5 minutes ago is cached'),
    STATS_CACHE_MAX_ENTRIES: z.coerce
      .number()
      .int()
      .positive()
      .default(1_000)
      .describe('answers kept by the in-process LRU (without `REDIS_URL`)'),

    ...devShape,
  })
  .superRefine((env, ctx) => {
    const pairs = [
      ['DATABASE_SSL_CERT', 'DATABASE_SSL_KEY'],
      ['NATS_TLS_CERT', 'NATS_TLS_KEY'],
      ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'],
    ] as const;
    for (const [cert, key] of pairs) {
      if (Boolean(env[cert]) !== Boolean(env[key]))
        ctx.addIssue({ code: 'custom', path: [env[cert] ? key : cert], message: `${cert} and ${key} go together` });
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
