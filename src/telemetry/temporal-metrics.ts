import { createServer } from 'node:net';
import type { Registry } from 'prom-client';

// The Temporal SDK's metrics (workflow task latency, slots, pollers, sticky cache, …) come from
// its Rust core, whose Prometheus exporter serves them on an address of its own. The worker's
// /metrics fetches them from there and appends them, so one scrape of the worker's health port
// sees both; TEMPORAL_METRICS_ADDRESS also exposes them on their own.

export interface TemporalMetricsAddress {
  /** For `Runtime.install` telemetry: where the core's exporter listens. */
  bind: string;
  /** Where this process reads it. */
  url: string;
}

export async function temporalMetricsAddress(configured?: string): Promise<TemporalMetricsAddress> {
  const bind = configured ?? `127.0.0.1:${await freeLoopbackPort()}`;
  const port = bind.slice(bind.lastIndexOf(':') + 1);
  return { bind, url: `http://127.0.0.1:${port}/metrics` };
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const FETCH_TIMEOUT_MS = 2_000;

/** This process's metrics, then the Temporal core's (left out, with a comment, if it does not answer). */
export function mergedMetrics(registry: Registry, temporalUrl: string | undefined): () => Promise<string> {
  return async () => {
    const own = await registry.metrics();
    if (!temporalUrl) return own;
    const core = await fetch(temporalUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`answered ${r.status}`))))
      .catch((err: Error) => `# Temporal SDK metrics unavailable: ${err.message}\n`);
    return `${own}\n${core}`;
  };
}
