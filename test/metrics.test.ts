import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, post, stack, waitForStatus } from './helpers.js';
import { scrape, valueOf } from './metrics-text.js';

// The shared deployment's API and worker: their /metrics move when events flow through them.
describe('metrics', () => {
  // The suite waits for the API only; the worker serves its port once its bundle is built.
  beforeAll(
    () =>
      eventually(
        () => fetch(`${stack().workerHealthUrl}/health/ready`).then((r) => (r.ok ? true : undefined)),
        90_000,
        'the worker to be ready',
      ),
    120_000,
  );

  it('serves Prometheus text on the API and on the worker health port, Temporal SDK metrics merged in', async () => {
    const res = await fetch(`${stack().apiUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const worker = await fetch(`${stack().workerHealthUrl}/metrics`);
    expect(worker.status).toBe(200);
    const text = await worker.text();
    expect(text).toContain('# TYPE event_service_bridge_messages_total counter');
    expect(text).toMatch(/^temporal_\w+/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).not.toContain('Temporal SDK metrics unavailable');
  });

  it('counts ingested, duplicate and rejected events, publishes, workflows and end-to-end latency', async () => {
    const [api0, worker0] = await Promise.all([scrape(stack().apiUrl), scrape(stack().workerHealthUrl)]);
    const type = `metrics_${randomUUID().slice(0, 8)}`;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const event_id of ids) expect((await post('/api/events/create', { event_id, event_type: type, data: {} })).status).toBe(202);
    expect((await post('/api/events/create', { event_id: ids[0], event_type: type, data: {} })).body.duplicate).toBe(true);
    expect((await post('/api/events/create', { event_type: 'Not A Token', data: {} })).status).toBe(400);
    for (const id of ids) await waitForStatus(id, 'completed');

    const delta = (after: typeof api0, before: typeof api0, name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    // The stored status moves first; the worker's counters just after, and the SDK's once the
    // workflow task that completes the workflow has been reported.
    const [api, worker] = await eventually(
      async () => {
        const both = await Promise.all([scrape(stack().apiUrl), scrape(stack().workerHealthUrl)]);
        return delta(both[1], worker0, 'temporal_workflow_completed_total') >= 3 &&
          delta(both[1], worker0, 'event_service_event_e2e_latency_seconds_count') >= 3
          ? both
          : undefined;
      },
      15_000,
      'the worker metrics to count the three workflows',
    );
    const backend = { source: 'backend', category: 'service' };
    expect(delta(api, api0, 'event_service_ingest_events_total', { ...backend, outcome: 'accepted' })).toBeGreaterThanOrEqual(3);
    expect(delta(api, api0, 'event_service_ingest_events_total', { ...backend, outcome: 'duplicate' })).toBeGreaterThanOrEqual(1);
    expect(delta(api, api0, 'event_service_ingest_events_total', { source: 'backend', outcome: 'rejected' })).toBeGreaterThanOrEqual(1);
    expect(delta(api, api0, 'event_service_jetstream_publish_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(4);
    expect(
      delta(api, api0, 'event_service_http_request_duration_seconds_count', { method: 'POST', route: '/api/events/create', status: '202' }),
    ).toBeGreaterThanOrEqual(4);
    expect(
      delta(api, api0, 'event_service_http_request_duration_seconds_count', { method: 'POST', route: '/api/events/create', status: '400' }),
    ).toBeGreaterThanOrEqual(1);

    expect(delta(worker, worker0, 'event_service_bridge_messages_total', { outcome: 'started' })).toBeGreaterThanOrEqual(3);
    expect(delta(worker, worker0, 'event_service_events_settled_total', { status: 'completed' })).toBeGreaterThanOrEqual(3);
    expect(delta(worker, worker0, 'event_service_processing_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(delta(worker, worker0, 'event_service_event_e2e_latency_seconds_count', { source: 'backend' })).toBeGreaterThanOrEqual(3);
    expect(delta(worker, worker0, 'event_service_event_e2e_latency_seconds_sum', { source: 'backend' })).toBeGreaterThan(0);
    // The SDK's own counters moved too: the three workflows completed on this worker.
    expect(delta(worker, worker0, 'temporal_workflow_completed_total')).toBeGreaterThanOrEqual(3);

    for (const samples of [api, worker]) {
      expect(valueOf(samples, 'event_service_nats_connected')).toBe(1);
      expect(valueOf(samples, 'event_service_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
    }
    expect(worker.some((s) => s.name === 'event_service_bridge_consumer_messages' && s.labels.state === 'pending')).toBe(true);
  });

  it('labels nothing with an event id or a user id', async () => {
    const user = `user-${randomUUID()}`;
    const res = await post('/api/events/create', { event_type: 'metrics_labels', user_id: user, data: {} });
    await waitForStatus(res.body.event_id, 'completed');
    for (const url of [stack().apiUrl, stack().workerHealthUrl]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).not.toContain(res.body.event_id);
      expect(text).not.toContain(user);
    }
  });

  it('has every metric the alert rules and the dashboard use', async () => {
    // Declared families count, with or without samples yet (a labelled counter has none until used).
    const texts = await Promise.all([stack().apiUrl, stack().workerHealthUrl].map(async (url) => (await fetch(`${url}/metrics`)).text()));
    const served = new Set(
      texts.flatMap((t) =>
        [...t.matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap(([, name, type]) =>
          type === 'histogram' ? ['_bucket', '_sum', '_count'].map((x) => name + x) : [name!],
        ),
      ),
    );
    for (const file of ['ops/prometheus/alerts.yml', 'ops/grafana/dashboards/event-service.json']) {
      const text = await readFile(new URL(`../${file}`, import.meta.url), 'utf8');
      const used = new Set(text.match(/\b(event_service|temporal|process)_[a-z0-9_]+/g));
      expect(used.size, file).toBeGreaterThan(3);
      expect(
        [...used].filter((name) => !served.has(name)),
        file,
      ).toEqual([]);
    }
  });
});
