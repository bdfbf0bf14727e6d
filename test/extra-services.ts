import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { findFreePort } from '../src/dev/ports.js';
import { spawnService } from '../src/dev/services.js';
import { eventually, stack } from './helpers.js';
import { TEST_LIFECYCLE_ENV } from './stack-settings.js';

export interface ExtraServices {
  apiUrl: string;
  workerPid: number;
  stop(): Promise<void>;
}

/**
 * An API and a worker process of the test's own beside the test deployment's, on its Temporal and
 * PostgreSQL, with settings of the test's (a second worker on the shared consumer; a short
 * PARK_TIMEOUT on a task queue of its own). Resolves once both are ready.
 */
export async function startExtraServices(env: Record<string, string>, what: string): Promise<ExtraServices> {
  const s = stack();
  const [apiPort, healthPort] = await Promise.all([findFreePort(), findFreePort()]);
  const full = {
    ...TEST_LIFECYCLE_ENV,
    ...s.payloadKeys,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    DATABASE_URL: s.databaseUrl,
    NATS_URL: s.natsUrl,
    TEMPORAL_ADDRESS: s.temporalAddress,
    ...env,
    PORT: String(apiPort),
    WORKER_HEALTH_PORT: String(healthPort),
  };
  const children: ChildProcess[] = [spawnService('api', full, 'ignore'), spawnService('worker', full, 'ignore')];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
  };
  try {
    await eventually(
      async () => {
        const [api, worker] = await Promise.all([
          fetch(`${apiUrl}/health`).then(
            (r) => r.ok,
            () => false,
          ),
          fetch(`http://127.0.0.1:${healthPort}/health/ready`).then(
            (r) => r.ok,
            () => false,
          ),
        ]);
        return api && worker ? true : undefined;
      },
      120_000,
      `${what} to be ready`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { apiUrl, workerPid: children[1]!.pid!, stop };
}
