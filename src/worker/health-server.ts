import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';

// The worker's own health, on a port of its own: a supervisor (Kubernetes, systemd, compose)
// restarts a worker that is not live, and sends no traffic decisions to one that is not ready.
//   GET /health/live   200 while the process and its Temporal worker run
//   GET /health/ready  200 when the worker polls Temporal and the bridge (if any) consumes
//                      with NATS connected; 503 with the failing checks otherwise; always with
//                      the consumer backlog
//   GET /metrics       Prometheus text: the worker's metrics and the Temporal SDK's

export interface WorkerHealthDeps {
  workerState: () => string;
  bridge?: {
    health(): { consuming: boolean; inProgress: number; restarts: number; lastError?: string };
    backlog(): Promise<{ pending: number; ackPending: number }>;
  };
  /** Whether the bridge's NATS connection is up (with a bridge only). */
  natsConnected?: () => boolean;
  metrics?: () => Promise<string>;
  log: Pick<Logger, 'info'>;
}

const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function startWorkerHealthServer(port: number, host: string, deps: WorkerHealthDeps): Promise<Server> {
  const server = createServer((req, res) => {
    if (deps.metrics && req.url?.split('?')[0] === '/metrics') {
      void deps.metrics().then(
        (text) => res.writeHead(200, { 'content-type': METRICS_TYPE }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
      );
      return;
    }
    void answer(req.url ?? '/', deps).then(({ status, body }) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  deps.log.info({ port: (server.address() as AddressInfo).port }, 'worker health listening');
  return server;
}

async function answer(url: string, { workerState, bridge, natsConnected }: WorkerHealthDeps): Promise<{ status: number; body: unknown }> {
  const path = url.split('?')[0];
  const state = workerState();
  if (path === '/health/live') {
    const live = state !== 'FAILED' && state !== 'STOPPED';
    return { status: live ? 200 : 503, body: { status: live ? 'live' : 'dead', worker: state } };
  }
  if (path !== '/health/ready') return { status: 404, body: { error: { code: 'not_found', message: `no route ${path}` } } };
  const checks: Record<string, unknown> = { temporal: { ok: state === 'RUNNING', worker: state } };
  if (bridge) {
    const h = bridge.health();
    const backlog = await bridge.backlog().catch((err: Error) => ({ error: err.message }));
    checks.bridge = { ok: h.consuming, ...h, backlog };
  }
  if (natsConnected) checks.nats = { ok: natsConnected() };
  const ready = Object.values(checks).every((c) => (c as { ok: boolean }).ok);
  return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not_ready', checks } };
}
