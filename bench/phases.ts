import type pg from 'pg';
import type { ThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { completions } from './burst.js';
import { postEvent, steadyLoad } from './load.js';
import { rssMb } from './proc.js';
import { fmt, pool, summarize } from './stats.js';

// The bench's phases after the bursts: latency at a steady rate, ingestion while processing runs
// flat out, and memory over a soak. Each prints its own lines.

export async function steady(d: ThrowawayDeployment, db: pg.Pool, rate: number, seconds: number, label: string): Promise<void> {
  const run = `steady_${Date.now()}`;
  const acks = await steadyLoad(rate, seconds, (i) => postEvent(d.apiUrl, 'bench_steady', { run, i }));
  const done = await completions(db, run, acks.length, d.pids);
  const ack = summarize(acks);
  const lat = summarize(done.latencies);
  console.log(`\n${label}: ${fmt(rate)} events/s offered for ${seconds} s`);
  console.log(`  ack                         p50 ${fmt(ack.p50, 1)} ms, p99 ${fmt(ack.p99, 1)} ms`);
  console.log(`  latency received→completed  p50 ${fmt(lat.p50)} ms, p95 ${fmt(lat.p95)} ms, p99 ${fmt(lat.p99)} ms`);
}

/** A backlog is posted as fast as possible, then 500 events/s are offered while it drains. */
export async function ingestionUnderProcessing(d: ThrowawayDeployment, db: pg.Pool, backlog: number, concurrency: number): Promise<void> {
  const run = `backlog_${Date.now()}`;
  await pool(backlog, concurrency, async (i) => void (await postEvent(d.apiUrl, 'bench_backlog', { run, i })));
  const acks = await steadyLoad(500, 10, (i) => postEvent(d.apiUrl, 'bench_backlog', { run: `${run}_steady`, i }));
  const ack = summarize(acks);
  const pending = (
    await db.query(`SELECT count(*)::int AS n FROM events WHERE data @> jsonb_build_object('run', $1::text) AND status = 'completed'`, [
      run,
    ])
  ).rows[0].n;
  console.log(`\ningestion while processing runs flat out: backlog of ${fmt(backlog)}, then 500 events/s offered for 10 s`);
  console.log(
    `  ack                         p50 ${fmt(ack.p50, 1)} ms, p95 ${fmt(ack.p95, 1)} ms, p99 ${fmt(ack.p99, 1)} ms (backlog completed meanwhile: ${fmt(pending)})`,
  );
  await completions(db, run, backlog, d.pids);
  await completions(db, `${run}_steady`, acks.length, d.pids);
}

export async function soak(d: ThrowawayDeployment, db: pg.Pool, rate: number, seconds: number): Promise<void> {
  console.log(`\nsoak: ${fmt(rate)} events/s for ${seconds} s; resident memory (MB)`);
  const slices = 5;
  const sample = (label: string) =>
    console.log(
      `  ${label.padEnd(10)} api ${fmt(rssMb(d.pids.api))}, worker ${fmt(rssMb(d.pids.worker))}, temporal ${fmt(rssMb(d.pids.temporal))}`,
    );
  sample('start');
  for (let s = 1; s <= slices; s++) {
    const run = `soak_${Date.now()}`;
    const acks = await steadyLoad(rate, seconds / slices, (i) => postEvent(d.apiUrl, 'bench_soak', { run, i }));
    await completions(db, run, acks.length, d.pids);
    sample(`${Math.round((s * seconds) / slices)} s`);
  }
}
