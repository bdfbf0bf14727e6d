import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnv } from '../config.js';
import type { Logger } from '../logger.js';
import { modulePath, runningFromSource } from '../source-path.js';
import { dieWithParent } from './child-process.js';
import { tsxMainThreadOnly } from './from-source.js';
import { runInBackground } from './priority.js';

const ENTRIES = {
  api: modulePath('../api/server', import.meta.url),
  worker: modulePath('../worker/main', import.meta.url),
} as const;
// What `npm run build` made, as `npm run serve:api` / `serve:worker` run it in production.
const BUILT_ENTRIES: Record<ServiceName, string> = {
  api: fileURLToPath(new URL('../../dist/api/server.js', import.meta.url)),
  worker: fileURLToPath(new URL('../../dist/worker/main.js', import.meta.url)),
};
// A larger young generation cuts the garbage collector's share of ingesting batches by ~20% in
// the API; in the worker it only costs memory (two isolates, ~150 MB more resident, no gain).
const NODE_ARGS: Record<ServiceName, string[]> = { api: ['--max-semi-space-size=64'], worker: [] };

/**
 * How to run a service: from source through tsx (in the main thread only: from-source.ts), or
 * the build (the benches: what production runs).
 */
export function serviceArgs(name: ServiceName, built: boolean): string[] {
  if (built) return [...NODE_ARGS[name], BUILT_ENTRIES[name]];
  return [...NODE_ARGS[name], ...(runningFromSource ? tsxMainThreadOnly() : []), ENTRIES[name]];
}

export interface Services {
  /** Resolves once the API's GET /health (and the worker's readiness, when asked) answer 200. */
  ready: Promise<void>;
  /** Process ids by name (api, worker), for benchmarks that read CPU time and memory. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

export type ServiceName = keyof typeof ENTRIES;

/** One service process (the worker niced: processing has the stream to buffer it, priority.ts). */
export function spawnService(
  name: ServiceName,
  env: Record<string, string | undefined>,
  stdio: 'inherit' | 'ignore' = 'inherit',
  built = false,
): ChildProcess {
  const { command: cmd, args, detached } = dieWithParent(process.execPath, serviceArgs(name, built), 'SIGTERM');
  const child = spawn(cmd, args, { env: childEnv(env), stdio: ['ignore', stdio, 'inherit'], detached });
  if (name === 'worker') runInBackground(child.pid);
  return child;
}

/**
 * Runs the API and the worker as two processes, as in production, with the given settings.
 * If either exits on its own, `onExit` hears about it (the dev launcher then stops everything).
 */
export function spawnServices(opts: {
  env: Record<string, string | undefined>;
  apiUrl: string;
  log: Logger;
  onExit?: (name: string, code: number | null) => void;
  stdio?: 'inherit' | 'ignore';
  /** Worker processes (each with its bridge); the extra ones serve their health on a free port. */
  workers?: number;
  /** Run `dist/` (`npm run build` first) instead of the source. */
  built?: boolean;
  /** Also wait for the first worker's readiness here (its bridge consuming, its workflows bundled). */
  workerReadyUrl?: string;
}): Services {
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const processes: [string, ServiceName, Record<string, string | undefined>][] = [
    ['api', 'api', opts.env],
    ['worker', 'worker', opts.env],
    ...Array.from(
      { length: (opts.workers ?? 1) - 1 },
      (_, i) =>
        [`worker-${i + 2}`, 'worker', { ...opts.env, WORKER_HEALTH_PORT: '0' }] as [
          string,
          ServiceName,
          Record<string, string | undefined>,
        ],
    ),
  ];
  for (const [name, service, env] of processes) {
    const child = spawnService(service, env, opts.stdio, opts.built);
    child.on('exit', (code) => {
      children.delete(name);
      if (!stopping) opts.onExit?.(name, code);
    });
    children.set(name, child);
  }

  const ready = (async () => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (children.size < processes.length) throw new Error('a service exited before it was ready');
      const urls = [`${opts.apiUrl}/health`, ...(opts.workerReadyUrl ? [opts.workerReadyUrl] : [])];
      const ok = (
        await Promise.all(
          urls.map((u) =>
            fetch(u).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        )
      ).every(Boolean);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`${opts.apiUrl}/health (and the worker) did not become healthy within 180 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  return {
    ready,
    pids: Object.fromEntries([...children].flatMap(([name, child]) => (child.pid === undefined ? [] : [[name, child.pid]]))),
    async stop() {
      stopping = true;
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
