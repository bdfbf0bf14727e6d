import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from '../../src/logger.js';
import { devPayloadKey } from '../../src/dev/payload-key.js';
import { findFreePort } from '../../src/dev/ports.js';
import { type ServiceName, spawnService } from '../../src/dev/services.js';
import { type RunningStack, startStack, type StackOptions } from '../../src/dev/stack.js';
import type { ChaosTarget, Fault } from './run-chaos.js';

// A deployment whose every process can be killed and started again on the same ports and data:
// Temporal, NATS and PostgreSQL each as a stack of their own, the API and the worker as plain
// processes. Only the chaos run needs this; everything else uses the throwaway deployment.

export type Dependency = 'temporal' | 'nats' | 'postgres';

export interface ChaosDeployment extends ChaosTarget {
  apiUrl: string;
  workerHealthUrl: string;
  databaseUrl: string;
  natsUrl: string;
  /** SIGKILL, then the same process started again. */
  kill(service: ServiceName): Promise<void>;
  /** A clean stop, then started again on the same port and data. */
  restart(dependency: Dependency): Promise<void>;
  /** The two halves of a restart, for a test that looks at the service in between. */
  stopDependency(dependency: Dependency): Promise<void>;
  startDependency(dependency: Dependency): Promise<void>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startChaosDeployment(opts: {
  dataDir: string;
  cacheDir: string;
  temporalCliPath?: string;
  env: Record<string, string>;
  log: Logger;
}): Promise<ChaosDeployment> {
  const ports = Object.fromEntries(
    await Promise.all(
      ['temporal', 'temporalUi', 'nats', 'postgres', 'api', 'workerHealth'].map(async (k) => [k, await findFreePort()] as const),
    ),
  ) as Record<'temporal' | 'temporalUi' | 'nats' | 'postgres' | 'api' | 'workerHealth', number>;
  const base = { dataDir: opts.dataDir, cacheDir: opts.cacheDir, log: opts.log };
  const specs: Record<Dependency, Partial<StackOptions>> = {
    temporal: {
      temporal: { port: ports.temporal, uiPort: ports.temporalUi, ...(opts.temporalCliPath && { cliPath: opts.temporalCliPath }) },
    },
    nats: { nats: { port: ports.nats } },
    postgres: { postgres: { port: ports.postgres } },
  };
  const stacks = new Map<Dependency, RunningStack>();
  await Promise.all((Object.keys(specs) as Dependency[]).map(async (d) => stacks.set(d, await startStack({ ...base, ...specs[d] }))));

  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const env = {
    ...(await devPayloadKey(opts.dataDir)),
    ...opts.env,
    PORT: String(ports.api),
    WORKER_HEALTH_PORT: String(ports.workerHealth),
    HOST: '127.0.0.1',
    DATABASE_URL: stacks.get('postgres')!.databaseUrl!,
    NATS_URL: stacks.get('nats')!.natsUrl!,
    TEMPORAL_ADDRESS: stacks.get('temporal')!.temporalAddress!,
  };
  const processes = new Map<ServiceName, ChildProcess>();
  const spawn = (name: ServiceName) => processes.set(name, spawnService(name, env, 'ignore'));
  spawn('api');
  spawn('worker');

  const workerHealthUrl = `http://127.0.0.1:${ports.workerHealth}`;
  const healthy = async () => {
    const [api, worker] = await Promise.all([
      fetch(`${apiUrl}/health`).then(
        (r) => r.ok,
        () => false,
      ),
      fetch(`${workerHealthUrl}/health/ready`).then(
        (r) => r.ok,
        () => false,
      ),
    ]);
    return api && worker;
  };
  const deployment: ChaosDeployment = {
    apiUrl,
    apiUrls: [apiUrl],
    workerHealthUrl,
    databaseUrl: env.DATABASE_URL,
    natsUrl: env.NATS_URL,
    async kill(service) {
      const child = processes.get(service)!;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      spawn(service);
    },
    async restart(dependency) {
      await deployment.stopDependency(dependency);
      await deployment.startDependency(dependency);
    },
    async stopDependency(dependency) {
      await stacks.get(dependency)?.stop();
      stacks.delete(dependency);
    },
    async startDependency(dependency) {
      stacks.set(dependency, await startStack({ ...base, ...specs[dependency] }));
    },
    async waitHealthy(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await healthy())) {
        if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      await Promise.all(
        [...processes.values()].map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }),
      );
      await Promise.all([...stacks.values()].map((s) => s.stop()));
    },
  };
  try {
    await deployment.waitHealthy(180_000);
  } catch (err) {
    await deployment.stop();
    throw err;
  }
  return deployment;
}

/** The single-node run's faults, by name: a crash of each process, a restart of each dependency. */
export function singleNodeFaults(d: ChaosDeployment): Fault[] {
  return [
    { name: 'kill -9 api', inject: () => d.kill('api') },
    { name: 'kill -9 worker', inject: () => d.kill('worker') },
    { name: 'kill -9 worker during a resume', inject: () => killWorkerDuringResume(d) },
    ...(['nats', 'postgres', 'temporal'] as const).map((dep) => ({ name: `restart ${dep}`, inject: () => d.restart(dep) })),
  ];
}

const PAUSED_FOR_MS = 3_000;

/**
 * Every subscriber paused by an operator for a few seconds under the load (its deliveries wait),
 * then resumed, and the worker killed -9 while the drain sends what waited: the drain must resume
 * on the restarted worker, and nothing may be lost or recorded delivered twice.
 */
async function killWorkerDuringResume(d: ChaosDeployment): Promise<void> {
  const act = (id: string, action: string) =>
    fetch(`${d.apiUrl}/api/subscriptions/${id}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: `chaos: ${action}` }),
    });
  const listed = (await (await fetch(`${d.apiUrl}/api/subscriptions`)).json()) as { subscriptions: { id: string }[] };
  const ids = listed.subscriptions.map((s) => s.id);
  for (const id of ids) await act(id, 'pause');
  await new Promise((r) => setTimeout(r, PAUSED_FOR_MS));
  for (const id of ids) await act(id, 'resume');
  // The drain is under way: its first pass has started sending.
  await new Promise((r) => setTimeout(r, 500));
  await d.kill('worker');
}
