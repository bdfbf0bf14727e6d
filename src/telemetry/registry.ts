import { statfs } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Pool } from '../store/pool.js';

// One registry per process (not prom-client's global one), so that tests can build several apps
// in one process. Names start with `event_service_`; process and Node.js metrics keep the names
// every Node dashboard knows.

export const METRIC_PREFIX = 'event_service_';

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * 1 while the connection to NATS is up, 0 while it is lost (disconnected, reconnecting, closed).
 * Returns whether it is up, for readiness.
 */
export function watchNatsConnection(registry: Registry, nc: NatsConnection, connection: string): () => boolean {
  const gauge = new Gauge({
    name: `${METRIC_PREFIX}nats_connected`,
    help: 'Whether the process is connected to NATS (1) or not (0)',
    labelNames: ['connection'],
    registers: [registry],
  });
  const gauged = gauge.labels(connection);
  let connected = !nc.isClosed();
  const set = (value: boolean) => {
    connected = value;
    gauged.set(value ? 1 : 0);
  };
  set(connected);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection' || s.type === 'close') set(false);
      else if (s.type === 'reconnect') set(true);
    }
    set(false);
  })();
  void nc.closed().then(() => set(false));
  return () => connected;
}

/** The pool's connections, read when scraped: nothing is counted per query. */
export function watchPool(registry: Registry, pool: Pool): void {
  new Gauge({
    name: `${METRIC_PREFIX}db_pool_connections`,
    help: 'PostgreSQL pool connections: total, idle, and waiting (clients queued for a connection)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}

/** Free and total bytes of the file system the process works in (what /health checks), read when scraped. */
export function watchDisk(registry: Registry, path: string): void {
  const read = () =>
    statfs(path).then(
      (s) => ({ free: s.bavail * s.bsize, total: s.blocks * s.bsize }),
      () => undefined,
    );
  new Gauge({
    name: `${METRIC_PREFIX}disk_free_bytes`,
    help: 'Bytes free for the service on the file system of its working directory',
    registers: [registry],
    async collect() {
      const d = await read();
      if (d) this.set(d.free);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}disk_size_bytes`,
    help: 'Size of the file system of its working directory',
    registers: [registry],
    async collect() {
      const d = await read();
      if (d) this.set(d.total);
    },
  });
}

/** Histogram buckets in seconds, from a millisecond up to the lifetimes of retried events. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];
