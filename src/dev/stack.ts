import { mkdir } from 'node:fs/promises';
import type { ManagedChild } from './child-process.js';
import { startNats, resolveNatsServer, type NatsOptions } from './nats.js';
import { startPostgres, type PostgresOptions } from './postgres.js';
import { failoverUrl, setSynchronous, startReplica, type ReplicaOptions } from './postgres-replica.js';
import { resolveTemporalCli, startTemporal, type TemporalOptions } from './temporal.js';
import { resolveTemporalServer, startTemporalServer } from './temporal-server.js';

export { findFreePort } from './ports.js';
export { resolveTemporalCli } from './temporal.js';

export interface StackOptions {
  /** Absolute; each service keeps its data and log in a subfolder: temporal/, nats/, postgres/. */
  dataDir: string;
  /** Absolute; built binaries are cached here in versioned subfolders. */
  cacheDir: string;
  /** Omit a service to not start it. */
  temporal?: TemporalOptions;
  nats?: NatsOptions;
  postgres?: PostgresOptions;
  /** A streaming replica of `postgres` (docs/disaster-recovery.md). */
  postgresReplica?: ReplicaOptions;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface RunningStack {
  temporalAddress?: string;
  temporalUiUrl?: string;
  natsUrl?: string;
  natsMonitorUrl?: string;
  databaseUrl?: string;
  /** With a replica: its URL (reads), and the multi-host URL that finds whichever server takes writes. */
  databaseReadUrl?: string;
  databaseFailoverUrl?: string;
  /** Process ids of the services it started, by name (temporal, nats, postgres): benchmarks read their CPU time. */
  pids: Record<string, number>;
  /** Stops every service this stack started: stop signal, then SIGKILL after a timeout. */
  stop(): Promise<void>;
}

type Started = Omit<RunningStack, 'stop' | 'pids'> & { children: ManagedChild[] };

/** Starts the requested services in parallel and resolves once every one of them serves. */
export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const { log } = opts;
  await mkdir(opts.dataDir, { recursive: true });

  const timed = async (service: string, start: () => Promise<Started>): Promise<Started> => {
    const began = Date.now();
    const started = await start();
    log.info({ service, ms: Date.now() - began }, `${service} ready`);
    return started;
  };

  const temporal = opts.temporal;
  const postgres = opts.postgres;
  if (temporal?.kind === 'server' && !postgres) {
    throw new Error("the Temporal server profile keeps its data in the dev stack's PostgreSQL: leave DATABASE_URL unset");
  }
  const starts: Promise<Started>[] = [];
  const postgresStart = postgres
    ? timed('postgres', async () => {
        const p = await startPostgres(opts.dataDir, postgres, log);
        if (!opts.postgresReplica) {
          // A cluster an earlier start ran with a synchronous replica would wait for it at every commit.
          await setSynchronous(p.adminUrl, false);
          return { children: [p.child], databaseUrl: p.databaseUrl };
        }
        const r = await startReplica(opts.dataDir, p, opts.postgresReplica, log).catch(async (err: unknown) => {
          await p.child.stop();
          throw err;
        });
        // The primary stops first, so that the replica receives its shutdown checkpoint.
        return {
          children: [p.child, r.child],
          databaseUrl: p.databaseUrl,
          databaseReadUrl: r.databaseUrl,
          databaseFailoverUrl: failoverUrl(p.databaseUrl, r.databaseUrl),
        };
      })
    : undefined;
  if (postgresStart) starts.push(postgresStart);
  if (temporal?.kind === 'server' && postgresStart) {
    // Built while PostgreSQL starts; the server itself needs the database up.
    starts.push(
      Promise.all([resolveTemporalServer(opts.cacheDir, log), postgresStart]).then(([bins, pg]) =>
        timed('temporal', async () => {
          const t = await startTemporalServer(bins, opts.dataDir, pg.databaseUrl!, temporal, log);
          return { children: [t.ui, t.child], temporalAddress: t.address, temporalUiUrl: t.uiUrl };
        }),
      ),
    );
  } else if (temporal) {
    starts.push(
      resolveTemporalCli(opts.cacheDir, temporal.cliPath, log).then((cli) =>
        timed('temporal', async () => {
          const t = await startTemporal(cli, opts.dataDir, temporal, log);
          return { children: [t.child], temporalAddress: t.address, temporalUiUrl: t.uiUrl };
        }),
      ),
    );
  }
  if (opts.nats) {
    const nats = opts.nats;
    starts.push(
      resolveNatsServer(opts.cacheDir, log).then((bin) =>
        timed('nats', async () => {
          const n = await startNats(bin, opts.dataDir, nats, log);
          return { children: [n.child], natsUrl: n.url, natsMonitorUrl: n.monitorUrl };
        }),
      ),
    );
  }

  // Wait for every start to settle, so that a failure never leaves a sibling running untracked.
  const results = await Promise.allSettled(starts);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    // Each service's children in order (the Temporal UI before its server), services in parallel.
    await Promise.all(
      started.map(async (s) => {
        for (const child of s.children) await child.stop();
      }),
    );
  };
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await stop();
    for (const extra of failures.slice(1)) log.warn({ err: extra }, 'another dev service also failed to start');
    throw failures[0];
  }

  const pick = <K extends keyof Started>(key: K) => started.find((s) => s[key] !== undefined)?.[key];
  return {
    temporalAddress: pick('temporalAddress'),
    temporalUiUrl: pick('temporalUiUrl'),
    natsUrl: pick('natsUrl'),
    natsMonitorUrl: pick('natsMonitorUrl'),
    databaseUrl: pick('databaseUrl'),
    databaseReadUrl: pick('databaseReadUrl'),
    databaseFailoverUrl: pick('databaseFailoverUrl'),
    pids: Object.fromEntries(started.flatMap((s) => s.children.flatMap((c) => (c.pid === undefined ? [] : [[c.name, c.pid]])))),
    stop,
  };
}
