import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { loadConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import { connectNats } from '../../nats/connection.js';
import { ensureMirror } from '../../site/mirror.js';
import { type PromotionFigures, promoteSite } from '../../site/promote.js';
import { findFreePort, waitUntil } from '../ports.js';
import { type Services, spawnService, spawnServices } from '../services.js';
import { type RunningStack, startStack } from '../stack.js';
import type { TemporalKind } from '../temporal.js';
import { startThrowawayDeployment, type ThrowawayDeployment } from '../throwaway-deployment.js';
import { siteNatsArgs } from './site-nats.js';
import { cutStoreLink, linkStores } from './store-link.js';

// Two sites on one machine, each with its own NATS, Temporal and PostgreSQL on loopback: the
// primary serves; the standby mirrors the primary's events stream over a leaf node, replicates its
// store, and runs its worker without the bridge (processing nothing). The drill loses the primary
// and promotes the standby through here.

export const PRIMARY_DOMAIN = 'site1';
export const STANDBY_DOMAIN = 'site2';

export interface StandbySite {
  apiUrl: string;
  workerHealthUrl: string;
  databaseUrl: string;
  natsUrl: string;
  temporalAddress: string;
}

export interface TwoSites {
  primary: ThrowawayDeployment;
  standby: StandbySite;
  /** SIGKILL to every process of the primary (NATS, PostgreSQL, Temporal, API, worker): no warning. */
  losePrimary(): Promise<void>;
  /**
   * Promotes the standby: its store leaves the link, the mirror is copied into its stream, its
   * worker (with the bridge) and its API start. Resolves once the API and the bridge serve.
   */
  promote(log: Logger): Promise<PromotionFigures & { totalMs: number }>;
  stop(): Promise<void>;
}

export async function startTwoSites(opts: {
  dataDir: string;
  cacheDir: string;
  temporalCliPath?: string;
  temporalKind?: TemporalKind;
  env: Record<string, string>;
  log: Logger;
  /** Where the promoted site's API and worker write their logs (ignored by default). */
  serviceOutput?: 'inherit' | 'ignore';
}): Promise<TwoSites> {
  const primaryDir = join(opts.dataDir, PRIMARY_DOMAIN);
  const standbyDir = join(opts.dataDir, STANDBY_DOMAIN);
  const leafPort = await findFreePort();
  const common = {
    cacheDir: opts.cacheDir,
    ...(opts.temporalCliPath && { temporalCliPath: opts.temporalCliPath }),
    ...(opts.temporalKind && { temporalKind: opts.temporalKind }),
  };
  const primary = await startThrowawayDeployment({
    ...common,
    dataDir: primaryDir,
    env: opts.env,
    log: opts.log,
    natsArgs: await siteNatsArgs(primaryDir, PRIMARY_DOMAIN, PRIMARY_DOMAIN, { listenPort: leafPort }),
    postgresSettings: { wal_level: 'logical' },
  });
  const cleanups: (() => Promise<unknown>)[] = [() => primary.stop()];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => opts.log.warn({ err }, 'two sites: a stop failed'));
  };
  try {
    const [temporalPort, temporalUiPort, natsPort, postgresPort, apiPort, workerHealthPort] = await Promise.all(
      Array.from({ length: 6 }, () => findFreePort()),
    );
    const stack: RunningStack = await startStack({
      dataDir: standbyDir,
      cacheDir: opts.cacheDir,
      log: opts.log,
      temporal: {
        ...(opts.temporalKind && { kind: opts.temporalKind }),
        port: temporalPort!,
        uiPort: temporalUiPort!,
        ...(opts.temporalCliPath && { cliPath: opts.temporalCliPath }),
      },
      nats: {
        port: natsPort!,
        extraArgs: await siteNatsArgs(standbyDir, STANDBY_DOMAIN, STANDBY_DOMAIN, { primaryLeafPort: leafPort }),
      },
      postgres: { port: postgresPort! },
    });
    cleanups.push(() => stack.stop());
    const standby: StandbySite = {
      apiUrl: `http://127.0.0.1:${apiPort}`,
      workerHealthUrl: `http://127.0.0.1:${workerHealthPort}`,
      databaseUrl: stack.databaseUrl!,
      natsUrl: stack.natsUrl!,
      temporalAddress: stack.temporalAddress!,
    };
    // The same key ring as the primary: the replicated subscriptions' secrets are sealed with it.
    const env = {
      ...opts.env,
      ...primary.payloadKeys,
      PORT: String(apiPort),
      WORKER_HEALTH_PORT: String(workerHealthPort),
      HOST: '127.0.0.1',
      DATABASE_URL: standby.databaseUrl,
      NATS_URL: standby.natsUrl,
      TEMPORAL_ADDRESS: standby.temporalAddress,
    };
    // In standby the worker migrates the store and polls Temporal, but takes nothing from NATS.
    let standbyWorker: ChildProcess | undefined = spawnService('worker', { ...env, BRIDGE_ENABLED: 'false' }, 'ignore');
    const stopStandbyWorker = async () => {
      const child = standbyWorker;
      standbyWorker = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    };
    cleanups.push(stopStandbyWorker);
    const ready = async (url: string) => (await fetch(url).catch(() => undefined))?.ok ?? false;
    await waitUntil('the standby worker', () => ready(`${standby.workerHealthUrl}/health/ready`), 180_000, undefined, 250);
    await linkStores(primary.databaseUrl, standby.databaseUrl);

    const nc = await connectNats(standby.natsUrl, 'site-drill', opts.log);
    cleanups.push(() => nc.close());
    // The settings the sites' services run with: the same stream name, limits and sensitive fields.
    const config = loadConfig(env);
    await ensureMirror(nc, config.stream, PRIMARY_DOMAIN);

    let services: Services | undefined;
    cleanups.push(async () => services?.stop());
    return {
      primary,
      standby,
      async losePrimary() {
        await Promise.all(
          Object.values(primary.pids).map((pid) => {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // Already gone.
            }
          }),
        );
      },
      async promote(log) {
        const began = Date.now();
        await cutStoreLink(standby.databaseUrl);
        // Its subscription list predates the replicated rows; the promoted worker reads them afresh.
        const stopping = stopStandbyWorker();
        const pool = new pg.Pool({ connectionString: standby.databaseUrl, max: 2 });
        let figures: PromotionFigures;
        try {
          figures = await promoteSite({
            js: jetstream(nc),
            jsm: await jetstreamManager(nc),
            pool,
            config,
            log,
          });
        } finally {
          await pool.end();
        }
        await stopping;
        services = spawnServices({
          env,
          apiUrl: standby.apiUrl,
          log,
          stdio: opts.serviceOutput ?? 'ignore',
          workerReadyUrl: `${standby.workerHealthUrl}/health/ready`,
        });
        await services.ready;
        return { ...figures, totalMs: Date.now() - began };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
