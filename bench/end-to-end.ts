import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { fmt, pool, summarize } from './stats.js';

// `npm run bench [-- --events 3000 --concurrency 50]`: brings up a throwaway deployment, posts
// N events over HTTP, waits until every one is completed, and prints ingestion rate (acks/s),
// end-to-end rate (completions/s) and latency from received_at to the completed transition.

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '50' } },
});
const N = Number(args.events);
const C = Number(args.concurrency);

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const log = createLogger('bench', 'warn');
  console.log(`starting a throwaway deployment (data in .data/bench) ...`);
  const d = await startThrowawayDeployment({
    dataDir: resolve('.data/bench'),
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env: { LOG_LEVEL: 'warn' },
    log,
  });
  const db = new pg.Pool({ connectionString: d.databaseUrl, max: 2 });
  try {
    const run = `bench_${Date.now()}`;
    const ids: string[] = [];
    const ackMs: number[] = [];
    console.log(`posting ${N} events, ${C} at a time ...`);
    const began = performance.now();
    await pool(N, C, async (i) => {
      const t0 = performance.now();
      const res = await fetch(`${d.apiUrl}/api/events/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event_type: 'bench_event', data: { run, i }, user_id: `u${i % 100}` }),
      });
      if (res.status !== 202) throw new Error(`event ${i}: HTTP ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { event_id: string }).event_id);
      ackMs.push(performance.now() - t0);
    });
    const ingestSeconds = (performance.now() - began) / 1000;

    let completed = 0;
    while (completed < N) {
      const r = await db.query(`SELECT count(*)::int AS n FROM events WHERE data->>'run' = $1 AND status = 'completed'`, [run]);
      completed = r.rows[0].n;
      if (completed < N) await new Promise((r) => setTimeout(r, 250));
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

    console.log('');
    console.log(`events                      ${fmt(N)} (concurrency ${C}, no processors)`);
    console.log(`ingestion (202 acks)        ${fmt(N / ingestSeconds)} events/s   ack latency p50 ${fmt(ack.p50, 1)} ms, p95 ${fmt(ack.p95, 1)} ms, p99 ${fmt(ack.p99, 1)} ms`);
    console.log(`end to end (completed)      ${fmt(N / e2eSeconds)} events/s   over ${fmt(e2eSeconds, 1)} s`);
    console.log(`latency received→completed  p50 ${fmt(lat.p50)} ms, p95 ${fmt(lat.p95)} ms, p99 ${fmt(lat.p99)} ms, max ${fmt(lat.max)} ms`);
  } finally {
    await db.end();
    await d.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
