import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import { devPayloadKey } from '../../src/dev/payload-key.js';
import { findFreePort } from '../../src/dev/ports.js';
import type { ReplicaMode } from '../../src/dev/postgres-replica.js';
import { spawnService } from '../../src/dev/services.js';
import { type RunningStack, startStack } from '../../src/dev/stack.js';
import { promoteStandby } from '../../src/store/promote.js';
import { type FaultResult, runChaos } from '../chaos/run-chaos.js';

// The PostgreSQL failover drill's deployment: Temporal (the CLI's dev server, its own SQLite, so
// that losing PostgreSQL loses only the event store), NATS, a PostgreSQL primary with a streaming
// replica, and the API and worker with DATABASE_URL listing both servers
// (target_session_attrs=read-write) and DATABASE_READ_URL the replica, as docs/disaster-recovery.md
// tells an operator to configure them.

export interface FailoverDeployment {
  apiUrl: string;
  workerHealthUrl: string;
  natsUrl: string;
  primaryUrl: string;
  replicaUrl: string;
  /** What the API and worker have as DATABASE_URL. */
  failoverUrl: string;
  /** The API or worker processes that exited on their own (nothing restarts them here), e.g. `worker (code 1)`. */
  exited: string[];
  /** kill -9 of the primary's postmaster: its backends follow, nothing is flushed or handed over. */
  killPrimary(): Promise<void>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startFailoverDeployment(opts: {
  dataDir: string;
  cacheDir: string;
  temporalCliPath?: string;
  mode: ReplicaMode;
  env: Record<string, string>;
  log: Logger;
  /** The API's and worker's log lines (stdout): shown by the script, hidden in the test. */
  stdio?: 'inherit' | 'ignore';
}): Promise<FailoverDeployment> {
  const [temporal, temporalUi, nats, primary, replica, api, workerHealth] = await Promise.all(
    Array.from({ length: 7 }, () => findFreePort()),
  );
  const base = { dataDir: opts.dataDir, cacheDir: opts.cacheDir, log: opts.log };
  const stacks: RunningStack[] = await Promise.all([
    startStack({
      ...base,
      temporal: { port: temporal!, uiPort: temporalUi!, ...(opts.temporalCliPath && { cliPath: opts.temporalCliPath }) },
    }),
    startStack({ ...base, nats: { port: nats! } }),
    startStack({ ...base, postgres: { port: primary! }, postgresReplica: { port: replica!, mode: opts.mode } }),
  ]);
  const [t, n, db] = stacks as [RunningStack, RunningStack, RunningStack];
  const apiUrl = `http://127.0.0.1:${api}`;
  const workerHealthUrl = `http://127.0.0.1:${workerHealth}`;
  const env = {
    ...(await devPayloadKey(opts.dataDir)),
    ...opts.env,
    PORT: String(api),
    WORKER_HEALTH_PORT: String(workerHealth),
    HOST: '127.0.0.1',
    DATABASE_URL: db.databaseFailoverUrl!,
    DATABASE_READ_URL: db.databaseReadUrl!,
    NATS_URL: n.natsUrl!,
    TEMPORAL_ADDRESS: t.temporalAddress!,
  };
  const exited: string[] = [];
  let stopping = false;
  const processes: ChildProcess[] = (['api', 'worker'] as const).map((name) => {
    const child = spawnService(name, env, opts.stdio ?? 'ignore');
    child.once('exit', (code, signal) => stopping || exited.push(`${name} (${signal ?? `code ${code}`})`));
    return child;
  });
  const ok = (url: string) =>
    fetch(url).then(
      (r) => r.ok,
      () => false,
    );
  const d: FailoverDeployment = {
    apiUrl,
    workerHealthUrl,
    natsUrl: n.natsUrl!,
    primaryUrl: db.databaseUrl!,
    replicaUrl: db.databaseReadUrl!,
    failoverUrl: db.databaseFailoverUrl!,
    exited,
    async killPrimary() {
      process.kill(db.pids.postgres!, 'SIGKILL');
      // Gone once it refuses connections.
      while (await answers(db.databaseUrl!)) await new Promise((r) => setTimeout(r, 50));
    },
    async waitHealthy(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (!((await ok(`${apiUrl}/health`)) && (await ok(`${workerHealthUrl}/health/ready`)))) {
        if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      stopping = true;
      await Promise.all(
        processes.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }),
      );
      await Promise.all(stacks.map((s) => s.stop()));
    },
  };
  try {
    await d.waitHealthy(180_000);
  } catch (err) {
    await d.stop();
    throw err;
  }
  return d;
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export interface FailoverResult extends FaultResult {
  /** kill -9 → the replica promoted (the drill promotes as soon as the primary refuses connections). */
  promotedAfterMs: number;
  /** After the drain: messages the bridge has not taken yet, and taken but not acked (where events not stored wait). */
  backlog: { pending: number; ackPending: number };
}

async function bridgeBacklog(natsUrl: string): Promise<FailoverResult['backlog']> {
  const { stream, bridge } = loadConfig({});
  const nc = await connect({ servers: natsUrl });
  try {
    const info = await (await jetstreamManager(nc)).consumers.info(stream.name, bridge.consumer);
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  } finally {
    await nc.close();
  }
}

/**
 * Steady load; a quarter of the way in the primary is killed -9 and the replica promoted with
 * `npm run db:promote`'s function. Then the promise is checked as chaos checks it, on the
 * promoted server: every event answered 202 stored once, `completed`, delivered once.
 */
export async function runFailoverDrill(d: FailoverDeployment, opts: { rate: number; seconds: number; drainTimeoutMs?: number }) {
  let promotedAfterMs = 0;
  const [result] = await runChaos(
    // The checks read the replica, which is the primary once the fault is over.
    { apiUrls: [d.apiUrl], databaseUrl: d.replicaUrl, natsUrl: d.natsUrl, waitHealthy: (ms) => d.waitHealthy(ms) },
    {
      ...opts,
      faults: [
        {
          name: 'kill -9 primary, promote replica',
          inject: async () => {
            const began = Date.now();
            await d.killPrimary();
            await promoteStandby(d.replicaUrl);
            promotedAfterMs = Date.now() - began;
          },
        },
      ],
    },
  );
  return { ...result!, promotedAfterMs, backlog: await bridgeBacklog(d.natsUrl) } satisfies FailoverResult;
}
