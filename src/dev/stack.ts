import { mkdir } from 'node:fs/promises';
import type { ManagedChild } from './child-process.js';
import { startNats, resolveNatsServer, type NatsOptions } from './nats.js';
import { startPostgres, type PostgresOptions } from './postgres.js';
import { resolveTemporalCli, startTemporal, type TemporalOptions } from './temporal.js';

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
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface RunningStack {
  temporalAddress?: string;
  temporalUiUrl?: string;
  natsUrl?: string;
  natsMonitorUrl?: string;
  databaseUrl?: string;
  /** Process ids of the services it started, by name (temporal, nats, postgres): benchmarks read their CPU time. */
  pids: Record<string, number>;
  /** Stops every service this stack started: stop signal, then SIGKILL after a timeout. */
  stop(): Promise<void>;
}

type Started = Omit<RunningStack, 'stop' | 'pids'> & { child: ManagedChild };

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

  const starts: Promise<Started>[] = [];
  if (opts.temporal) {
    const temporal = opts.temporal;
    starts.push(
      resolveTemporalCli(opts.cacheDir, temporal.cliPath, log).then((cli) =>
        timed('temporal', async () => {
          const t = await startTemporal(cli, opts.dataDir, temporal, log);
          return { child: t.child, temporalAddress: t.address, temporalUiUrl: t.uiUrl };
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
          return { child: n.child, natsUrl: n.url, natsMonitorUrl: n.monitorUrl };
        }),
      ),
    );
  }
  if (opts.postgres) {
    const postgres = opts.postgres;
    starts.push(
      timed('postgres', async () => {
        const p = await startPostgres(opts.dataDir, postgres, log);
        return { child: p.child, databaseUrl: p.databaseUrl };
      }),
    );
  }

  // Wait for every start to settle, so that a failure never leaves a sibling running untracked.
  const results = await Promise.allSettled(starts);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    await Promise.all(started.map((s) => s.child.stop()));
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
    pids: Object.fromEntries(started.flatMap((s) => (s.child.pid === undefined ? [] : [[s.child.name, s.child.pid]]))),
    stop,
  };
}
