import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runToEnd, spawnManaged, type ManagedChild } from './child-process.js';
import { goInstall } from './go-install.js';
import { findFreePort, waitUntil } from './ports.js';
import { DEV_DYNAMIC_CONFIG, type RunningTemporal, type TemporalOptions } from './temporal.js';
import { registerNamespace, serves } from './temporal-namespace.js';
import { startTemporalUi } from './temporal-ui.js';

// The production path without Docker: Temporal's own server (frontend, history, matching and
// worker services in one process) on the stack's PostgreSQL, instead of the CLI's SQLite dev
// server. Same version as the server inside the CLI, so the Go build cache serves both.
export const TEMPORAL_SERVER_VERSION = '1.29.1';
// The UI server the CLI v1.5.1 embeds.
export const TEMPORAL_UI_VERSION = '2.42.1';
const HISTORY_SHARDS = 4;

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  ui: string;
}

export async function resolveTemporalServer(cacheDir: string, log: Log): Promise<TemporalServerBinaries> {
  const build = (name: string, module: string, binary: string, version: string) =>
    goInstall({
      module,
      version: `v${version}`,
      binary,
      dir: join(cacheDir, `${name}-${version}`),
      alternative:
        'run without `--temporal server` (the CLI dev server), or set TEMPORAL_ADDRESS to a Temporal server that is already running',
      log,
    });
  // One after another: two Go builds at once only fight over the same cores and cache.
  const server = await build('temporal-server', 'go.temporal.io/server/cmd/server', 'server', TEMPORAL_SERVER_VERSION);
  const sqlTool = await build('temporal-sql-tool', 'go.temporal.io/server/cmd/tools/sql', 'sql', TEMPORAL_SERVER_VERSION);
  const ui = await build('temporal-ui-server', 'github.com/temporalio/ui-server/v2/cmd/server', 'server', TEMPORAL_UI_VERSION);
  return { server, sqlTool, ui };
}
export type TemporalRole = 'frontend' | 'history' | 'matching' | 'worker';
export const TEMPORAL_ROLES: TemporalRole[] = ['frontend', 'history', 'matching', 'worker'];
export interface RolePorts {
  grpcPort: number;
  membershipPort: number;
  httpPort?: number;
}

/**
 * The server's config (JSON is YAML): persistence on PostgreSQL, each role's ports, membership on
 * loopback. One process may run every role (the server profile) or one (the cluster profile: each
 * process gets this file with its own role's ports, and they find each other through the
 * database's membership table).
 */
export function temporalServerConfig(opts: {
  db: URL;
  dir: string;
  frontendAddress: string;
  shards: number;
  roles: Record<TemporalRole, RolePorts>;
}) {
  const { db } = opts;
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: db.host,
      connectProtocol: 'tcp',
      user: decodeURIComponent(db.username),
      password: decodeURIComponent(db.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: opts.shards,
      datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: Object.fromEntries(TEMPORAL_ROLES.map((role) => [role, { rpc: { ...opts.roles[role], bindOnLocalHost: true } }])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: opts.frontendAddress } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    // The internal worker service (archival, batch operations, scanners) reaches the frontend here.
    publicClient: { hostPort: opts.frontendAddress },
    dynamicConfigClient: { filepath: join(opts.dir, 'dynamic-config.yaml'), pollInterval: '10s' },
  };
}

/** The schemas, the dynamic config: what every server process of one deployment shares. */
export async function prepareTemporalServer(bins: TemporalServerBinaries, dir: string, databaseUrl: string, fresh: boolean): Promise<URL> {
  await mkdir(join(dir, 'config'), { recursive: true });
  const db = new URL(databaseUrl);
  await setUpSchemas(bins.sqlTool, db, dir, fresh);
  const dynamic = Object.fromEntries(
    Object.entries({ ...DEV_DYNAMIC_CONFIG, 'limit.maxIDLength': 255 }).map(([k, value]) => [k, [{ value }]]),
  );
  await writeFile(join(dir, 'dynamic-config.yaml'), JSON.stringify(dynamic, null, 2));
  return db;
}

/** Starts the server with config `config/<env>.yaml` under `dir`, running `roles` (all by default). */
export function spawnTemporalServer(
  bins: TemporalServerBinaries,
  dir: string,
  env: string,
  log: Log,
  roles: TemporalRole[] = [],
): ManagedChild {
  return spawnManaged({
    name: env === 'events' ? 'temporal' : `temporal-${env}`,
    command: bins.server,
    args: ['--root', dir, '--config', 'config', '--env', env, '--allow-no-auth', 'start', ...roles.flatMap((r) => ['--service', r])],
    logFile: join(dir, env === 'events' ? 'temporal-server.log' : `${env}.log`),
    log,
    background: true,
  });
}

export async function startTemporalServer(
  bins: TemporalServerBinaries,
  dataDir: string,
  databaseUrl: string,
  opts: TemporalOptions,
  log: Log,
): Promise<RunningTemporal & { ui: ManagedChild }> {
  const dir = join(dataDir, 'temporal-server');
  const db = await prepareTemporalServer(bins, dir, databaseUrl, opts.fresh ?? false);
  const ports = await Promise.all(Array.from({ length: 7 }, () => findFreePort()));
  const address = `127.0.0.1:${opts.port}`;
  const config = temporalServerConfig({
    db,
    dir,
    frontendAddress: address,
    shards: HISTORY_SHARDS,
    roles: {
      frontend: { grpcPort: opts.port, membershipPort: ports[0]!, httpPort: ports[1]! },
      history: { grpcPort: ports[2]!, membershipPort: ports[3]! },
      matching: { grpcPort: ports[4]!, membershipPort: ports[5]! },
      worker: { grpcPort: ports[6]!, membershipPort: await findFreePort() },
    },
  });
  await writeFile(join(dir, 'config', 'events.yaml'), JSON.stringify(config, null, 2));
  const child = spawnTemporalServer(bins, dir, 'events', log);
  let ui: ManagedChild | undefined;
  try {
    await child.whileRunning((signal) => waitUntil(`Temporal server at ${address}`, () => serves(address), 90_000, signal, 500));
    await child.whileRunning(() => registerNamespace(address, log));
    ui = await startTemporalUi(
      bins.ui,
      dir,
      { address, uiPort: opts.uiPort, ...(opts.uiCodecEndpoint && { codecEndpoint: opts.uiCodecEndpoint }) },
      log,
    );
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, ui, address, uiUrl: `http://localhost:${opts.uiPort}` };
}

/** Creates both databases and brings their schemas to the version this server expects; a no-op when done. */
async function setUpSchemas(sqlTool: string, db: URL, dir: string, fresh: boolean): Promise<void> {
  const common = [
    '--plugin',
    'postgres12',
    '--ep',
    db.hostname,
    '-p',
    db.port,
    '-u',
    decodeURIComponent(db.username),
    '--pw',
    decodeURIComponent(db.password),
  ];
  for (const [database, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    const run = (name: string, args: string[]) =>
      runToEnd({
        name: `temporal-sql-tool ${name} ${database}`,
        command: sqlTool,
        args: [...common, '--db', database, ...args],
        logFile: join(dir, `schema-${database}.log`),
      });
    if (fresh) await run('drop', ['drop', '-f']).catch(() => undefined);
    // `create` fails when the database exists, and `setup-schema -v 0.0` only adds the version
    // table; both are safe to repeat, and `update-schema` then applies what is missing.
    await run('create', ['create']).catch(() => undefined);
    await run('setup-schema', ['setup-schema', '-v', '0.0']).catch(() => undefined);
    await run('update-schema', ['update-schema', '--schema-name', `postgresql/v12/${schema}`]);
  }
}
