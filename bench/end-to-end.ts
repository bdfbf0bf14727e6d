import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment, type ThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { fmt, pool, summarize } from './stats.js';

// `npm run bench [-- --events 3000 --concurrency 50]`: brings up a throwaway deployment and runs
// the same load twice — with no processors, then with one webhook subscriber (a local receiver
// answering 200) — so the cost of a delivery shows. For each it posts N events over HTTP, waits
// until every one is completed, and prints ingestion rate (acks/s), end-to-end rate
// (completions/s) and latency from received_at to the completed transition.

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '50' } },
});
const N = Number(args.events);
const C = Number(args.concurrency);

async function run(d: ThrowawayDeployment, db: pg.Pool, eventType: string, label: string): Promise<void> {
  const run = `${eventType}_${Date.now()}`;
  const ackMs: number[] = [];
  const began = performance.now();
  await pool(N, C, async (i) => {
    const t0 = performance.now();
    const res = await fetch(`${d.apiUrl}/api/events/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: eventType, data: { run, i }, user_id: `u${i % 100}` }),
    });
    if (res.status !== 202) throw new Error(`event ${i}: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    ackMs.push(performance.now() - t0);
  });
  const ingestSeconds = (performance.now() - began) / 1000;

  for (;;) {
    const r = await db.query(`SELECT count(*)::int AS n FROM events WHERE data->>'run' = $1 AND status = 'completed'`, [run]);
    if (r.rows[0].n >= N) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const { rows } = await db.query(
    `SELECT e.received_at, h.at AS completed_at FROM events e
       JOIN event_status_history h ON h.event_id = e.event_id AND h.status = 'completed'
      WHERE e.data->>'run' = $1`,
    [run],
  );
  const latencies = rows.map((r) => r.completed_at.getTime() - r.received_at.getTime());
  const firstReceived = Math.min(...rows.map((r) => r.received_at.getTime()));
  const lastCompleted = Math.max(...rows.map((r) => r.completed_at.getTime()));
  const e2eSeconds = (lastCompleted - firstReceived) / 1000;
  const ack = summarize(ackMs);
  const lat = summarize(latencies);

  console.log(`\n${label}: ${fmt(N)} events, ${C} concurrent posts`);
  console.log(`  ingestion (202 acks)        ${fmt(N / ingestSeconds)} events/s   ack p50 ${fmt(ack.p50, 1)} ms, p95 ${fmt(ack.p95, 1)} ms, p99 ${fmt(ack.p99, 1)} ms`);
  console.log(`  end to end (completed)      ${fmt(N / e2eSeconds)} events/s   over ${fmt(e2eSeconds, 1)} s`);
  console.log(`  latency received→completed  p50 ${fmt(lat.p50)} ms, p95 ${fmt(lat.p95)} ms, p99 ${fmt(lat.p99)} ms, max ${fmt(lat.max)} ms`);
}

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const log = createLogger('bench', 'error');
  console.log('starting a throwaway deployment (data in .data/bench, wiped first) ...');
  // A fresh deployment each run: figures do not depend on what earlier runs left behind.
  const dataDir = resolve('.data/bench');
  await rm(dataDir, { recursive: true, force: true });
  const d = await startThrowawayDeployment({
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env: { LOG_LEVEL: 'error' },
    log,
  });
  const db = new pg.Pool({ connectionString: d.databaseUrl, max: 2 });
  let delivered = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      delivered++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    await run(d, db, 'bench_plain', 'no processors');

    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const sub = await fetch(`${d.apiUrl}/api/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url, subjects: ['events.backend.service.bench_webhook'], secret: 'bench-secret-0123456789' }),
    });
    if (sub.status !== 201) throw new Error(`subscription: HTTP ${sub.status} ${await sub.text()}`);
    await run(d, db, 'bench_webhook', 'one webhook subscriber');
    console.log(`  deliveries received         ${fmt(delivered)}`);
  } finally {
    receiver.close();
    await db.end();
    await d.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
