import { Counter, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS, METRIC_PREFIX } from './registry.js';

export type IngestOutcome = 'accepted' | 'duplicate' | 'rejected' | 'unavailable';

/**
 * The API's own figures. Every label is from a short fixed list (source, category, outcome,
 * route pattern, status code): never an event id, user id or raw URL.
 */
export function createApiMetrics(registry: Registry) {
  const registers = [registry];
  const ingested = new Counter({
    name: `${METRIC_PREFIX}ingest_events_total`,
    help: 'Events offered to the API, by source, category and outcome (accepted, duplicate, rejected, unavailable)',
    labelNames: ['source', 'category', 'outcome'],
    registers,
  });
  const http = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS.slice(0, 12),
    registers,
  });
  const publish = new Histogram({
    name: `${METRIC_PREFIX}jetstream_publish_duration_seconds`,
    help: 'Time from publishing an event to JetStream acknowledging it (or failing to)',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS.slice(0, 12),
    registers,
  });
  const published = { ok: publish.labels('ok'), failed: publish.labels('failed') };

  return {
    registry,
    ingested(source: string, category: string, outcome: IngestOutcome, count = 1): void {
      ingested.labels(source, category, outcome).inc(count);
    },
    request(method: string, route: string, status: number, seconds: number): void {
      http.labels(method, route, String(status)).observe(seconds);
    },
    published(ok: boolean, seconds: number): void {
      (ok ? published.ok : published.failed).observe(seconds);
    },
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
