import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment, type ThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { measureCeilings, type WorkflowCeiling } from './limits/ceilings.js';
import { printCeilings, ratio } from './limits/print.js';
import { postEvent, steadyLoad } from './load.js';
import { cpuMeter, rssMb } from './proc.js';
import { fmt, pool, summarize } from './stats.js';

// `npm run bench [-- --events 3000 --concurrency 50 --steady 20 --soak 0 --workers 1 --temporal cli|server --from dist|source]`: on a throwaway
// deployment, first the machine's ceilings (bench/limits), then the project:
//  0. 500 events, unmeasured, as the ceilings' workflows were (code optimised, caches warm);
//  1. burst: N events posted at once, with no processors and then with one webhook subscriber;
//     ingestion rate, end-to-end rate, drain time, latency received→completed, CPU per event;
//  2. steady load at half the sustainable rate (the burst's): end-to-end latency;
//  3. ingestion while processing runs flat out: a backlog, then a steady 500 events/s offered;
//  4. with --soak S: S seconds at 0.8 × the sustainable rate, memory of the API and the worker.
// Figures are printed beside the ceilings as ratios; nothing is asserted.

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '50' },
    steady: { type: 'string', default: '20' },
    soak: { type: 'string', default: '0' },
    workers: { type: 'string', default: '1' },
    // `server`: Temporal's own server on PostgreSQL (the production path) instead of the CLI's dev server.
    temporal: { type: 'string', default: 'cli' },
    // `dist`: the API and the worker built first and run as production runs them; `source`: through tsx.
    from: { type: 'string', default: 'dist' },
  },
});
const N = Number(args.events);
const C = Number(args.concurrency);

interface Completion { latencies: number[]; firstReceived: number; lastCompleted: number }

async function completions(db: pg.Pool, run: string, count: number): Promise<Completion> {
  for (;;) {
    const r = await db.query(`SELECT count(*)::int AS n FROM events WHERE data->>'run' = $1 AND status = 'completed'`, [run]);
    if (r.rows[0].n >= count) break;
    await sleep(250);
  }
  const { rows } = await db.query(
    `SELECT e.received_at, h.at AS completed_at FROM events e
       JOIN event_status_history h ON h.event_id = e.event_id AND h.status = 'completed'
      WHERE e.data->>'run' = $1`,
    [run],
  );
  return {
    latencies: rows.map((r) => r.completed_at.getTime() - r.received_at.getTime()),
    firstReceived: Math.min(...rows.map((r) => r.received_at.getTime())),
    lastCompleted: Math.max(...rows.map((r) => r.completed_at.getTime())),
  };
}

async function burst(d: ThrowawayDeployment, db: pg.Pool, eventType: string, label: string, ceiling: WorkflowCeiling) {
  const run = `${eventType}_${Date.now()}`;
  const cpu = cpuMeter(d.pids);
  const ackMs: number[] = [];
  const began = performance.now();
  await pool(N, C, async (i) => void ackMs.push(await postEvent(d.apiUrl, eventType, { run, i })));
  const ingestSeconds = (performance.now() - began) / 1000;
  const done = await completions(db, run, N);
  const used = cpu();
  const e2eSeconds = (done.lastCompleted - done.firstReceived) / 1000;
  const e2eRate = N / e2eSeconds;
  const ack = summarize(ackMs);
  const lat = summarize(done.latencies);
  console.log(`\n${label}: burst of ${fmt(N)} events, ${C} concurrent posts`);
  console.log(`  ingestion (202 acks)        ${fmt(N / ingestSeconds)} events/s   ack p50 ${fmt(ack.p50, 1)} ms, p99 ${fmt(ack.p99, 1)} ms`);
  console.log(`  end to end (completed)      ${fmt(e2eRate)} events/s = ${ratio(e2eRate, ceiling.perSecond)} (local-activity ceiling)   drained in ${fmt(e2eSeconds, 1)} s`);
  console.log(`  latency received→completed  p50 ${fmt(lat.p50)} ms, p95 ${fmt(lat.p95)} ms, p99 ${fmt(lat.p99)} ms, max ${fmt(lat.max)} ms`);
  console.log(`  CPU per event               ${Object.entries(used).map(([name, ms]) => `${name} ${fmt(ms / N, 1)} ms`).join(', ')}`);
  // Against the ceiling's workflow: the same work in Temporal, and nothing of the project's own.
  const times = (ms: number | undefined, of: number) => `${fmt((ms ?? NaN) / N / of, 2)} × ${fmt(of, 1)} ms`;
  // With --workers N, all of them together against the one worker of the ceiling.
  const workers = Object.entries(used).filter(([name]) => name.startsWith('worker'));
  const workersMs = workers.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`  … as the ceiling's CPU       worker${workers.length > 1 ? 's together' : ''} ${times(workersMs, ceiling.workerCpuMs)}, temporal ${times(used.temporal, ceiling.temporalCpuMs)}`);
  console.log(`  resident memory             ${Object.entries(d.pids).filter(([n]) => n !== 'postgres').map(([name, pid]) => `${name} ${fmt(rssMb(pid))} MB`).join(', ')}`);
  return e2eRate;
}

/** Events posted and processed, unmeasured: a running service has its code optimised and its caches warm. */
async function warmUp(d: ThrowawayDeployment, db: pg.Pool, count: number) {
  const run = `warm_${Date.now()}`;
  await pool(count, C, async (i) => void (await postEvent(d.apiUrl, 'bench_warm', { run, i })));
  await completions(db, run, count);
}

async function steady(d: ThrowawayDeployment, db: pg.Pool, rate: number, seconds: number, label: string) {
  const run = `steady_${Date.now()}`;
  const acks = await steadyLoad(rate, seconds, (i) => postEvent(d.apiUrl, 'bench_steady', { run, i }));
  const done = await completions(db, run, acks.length);
  const ack = summarize(acks);
  const lat = summarize(done.latencies);
  console.log(`\n${label}: ${fmt(rate)} events/s offered for ${seconds} s`);
  console.log(`  ack                         p50 ${fmt(ack.p50, 1)} ms, p99 ${fmt(ack.p99, 1)} ms`);
  console.log(`  latency received→completed  p50 ${fmt(lat.p50)} ms, p95 ${fmt(lat.p95)} ms, p99 ${fmt(lat.p99)} ms`);
}

/** A backlog is posted as fast as possible, then 500 events/s are offered while it drains. */
async function ingestionUnderProcessing(d: ThrowawayDeployment, db: pg.Pool, backlog: number) {
  const run = `backlog_${Date.now()}`;
  await pool(backlog, C, async (i) => void (await postEvent(d.apiUrl, 'bench_backlog', { run, i })));
  const acks = await steadyLoad(500, 10, (i) => postEvent(d.apiUrl, 'bench_backlog', { run: `${run}_steady`, i }));
  const ack = summarize(acks);
  const pending = (await db.query(`SELECT count(*)::int AS n FROM events WHERE data->>'run' = $1 AND status = 'completed'`, [run])).rows[0].n;
  console.log(`\ningestion while processing runs flat out: backlog of ${fmt(backlog)}, then 500 events/s offered for 10 s`);
  console.log(`  ack                         p50 ${fmt(ack.p50, 1)} ms, p95 ${fmt(ack.p95, 1)} ms, p99 ${fmt(ack.p99, 1)} ms (backlog completed meanwhile: ${fmt(pending)})`);
  await completions(db, run, backlog);
  await completions(db, `${run}_steady`, acks.length);
}

async function soak(d: ThrowawayDeployment, db: pg.Pool, rate: number, seconds: number) {
  console.log(`\nsoak: ${fmt(rate)} events/s for ${seconds} s; resident memory (MB)`);
  const slices = 5;
  const sample = (label: string) => console.log(`  ${label.padEnd(10)} api ${fmt(rssMb(d.pids.api))}, worker ${fmt(rssMb(d.pids.worker))}, temporal ${fmt(rssMb(d.pids.temporal))}`);
  sample('start');
  for (let s = 1; s <= slices; s++) {
    const run = `soak_${Date.now()}`;
    const acks = await steadyLoad(rate, seconds / slices, (i) => postEvent(d.apiUrl, 'bench_soak', { run, i }));
    await completions(db, run, acks.length);
    sample(`${Math.round((s * seconds) / slices)} s`);
  }
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { dev } = loadConfig();
  const log = createLogger('bench', 'error');
  const built = args.from !== 'source';
  // From source, tsx turns source maps on in every thread, and the SDK makes an Error (its stack
  // source-mapped) for every promise in the workflow sandbox: about 0.7 ms per event more.
  if (built) execFileSync('npm', ['run', '--silent', 'build:dist'], { stdio: 'pipe' }); // its output only in the error, if it fails
  console.log(`starting a throwaway deployment (data in .data/bench, wiped first; services from ${built ? 'dist/' : 'source'}) ...`);
  // A fresh deployment each run: figures do not depend on what earlier runs left behind.
  const dataDir = resolve('.data/bench');
  await rm(dataDir, { recursive: true, force: true });
  const d = await startThrowawayDeployment({
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env: { LOG_LEVEL: 'error' },
    log,
    workers: Number(args.workers),
    temporalKind: args.temporal === 'server' ? 'server' : 'cli',
    built,
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
    const ceilings = await measureCeilings({ ...d, temporalPid: d.pids.temporal }, { workflows: 1500, inFlight: 48, seconds: 5 });
    printCeilings(ceilings);
    const ceiling = ceilings.localActivityWorkflow;

    await warmUp(d, db, 500);
    const sustainable = await burst(d, db, 'bench_plain', 'no processors', ceiling);

    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const sub = await fetch(`${d.apiUrl}/api/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url, subjects: ['events.backend.service.bench_webhook'], secret: 'bench-secret-0123456789' }),
    });
    if (sub.status !== 201) throw new Error(`subscription: HTTP ${sub.status} ${await sub.text()}`);
    await burst(d, db, 'bench_webhook', 'one webhook subscriber', ceiling);
    console.log(`  deliveries received         ${fmt(delivered)}`);

    await steady(d, db, Math.max(1, Math.round(sustainable / 2)), Number(args.steady), 'steady load at half the sustainable rate');
    await ingestionUnderProcessing(d, db, N);
    if (Number(args.soak) > 0) await soak(d, db, Math.round(sustainable * 0.8), Number(args.soak));
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
