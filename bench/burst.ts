import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { ThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { postEvent } from './load.js';
import { cpuMeter, rssMb } from './proc.js';
import { pool, summarize } from './stats.js';

// A burst: N events posted at once (C concurrent posts), measured until the last one completed.

export interface BurstSample {
  events: number;
  /** Events/s acked (202) while posting. */
  ingestPerSecond: number;
  ackP99Ms: number;
  /** Events/s from the first received to the last completed. */
  e2ePerSecond: number;
  latency: ReturnType<typeof summarize>;
  /** CPU ms per event by process (api, worker…, temporal, nats, postgres with its backends). */
  cpuMsPerEvent: Record<string, number>;
  rssMb: Record<string, number>;
  /** A few completed events' ids (their workflow ids), for their histories. */
  eventIds: string[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Completion {
  latencies: number[];
  firstReceived: number;
  lastCompleted: number;
}

/** Waits until `count` events of `run` are completed (or a process of the deployment is gone); their latencies received→completed. */
export async function completions(db: pg.Pool, run: string, count: number, pids: Record<string, number>): Promise<Completion> {
  for (;;) {
    const r = await db.query(
      `SELECT count(*)::int AS n FROM events WHERE data @> jsonb_build_object('run', $1::text) AND status = 'completed'`,
      [run],
    );
    if (r.rows[0].n >= count) break;
    const gone = Object.keys(pids).filter((name) => !alive(pids[name]!));
    if (gone.length > 0) throw new Error(`${gone.join(', ')} exited: ${r.rows[0].n} of ${count} events completed`);
    await sleep(250);
  }
  const { rows } = await db.query(
    `SELECT e.received_at, h.at AS completed_at FROM events e
       JOIN event_status_history h ON h.event_id = e.event_id AND h.status = 'completed'
      WHERE e.data @> jsonb_build_object('run', $1::text)`,
    [run],
  );
  return {
    latencies: rows.map((r) => r.completed_at.getTime() - r.received_at.getTime()),
    firstReceived: Math.min(...rows.map((r) => r.received_at.getTime())),
    lastCompleted: Math.max(...rows.map((r) => r.completed_at.getTime())),
  };
}

export async function burst(
  d: ThrowawayDeployment,
  db: pg.Pool,
  eventType: string,
  events: number,
  concurrency: number,
): Promise<BurstSample> {
  const run = `${eventType}_${Date.now()}`;
  const cpu = cpuMeter(d.pids);
  const ackMs: number[] = [];
  const began = performance.now();
  await pool(events, concurrency, async (i) => void ackMs.push(await postEvent(d.apiUrl, eventType, { run, i })));
  const ingestSeconds = (performance.now() - began) / 1000;
  const done = await completions(db, run, events, d.pids);
  const used = cpu();
  const sample = await db.query(
    `SELECT event_id FROM events WHERE data @> jsonb_build_object('run', $1::text) AND status = 'completed' ORDER BY random() LIMIT 10`,
    [run],
  );
  return {
    events,
    ingestPerSecond: events / ingestSeconds,
    ackP99Ms: summarize(ackMs).p99,
    e2ePerSecond: events / ((done.lastCompleted - done.firstReceived) / 1000),
    latency: summarize(done.latencies),
    cpuMsPerEvent: Object.fromEntries(Object.entries(used).map(([name, ms]) => [name, ms / events])),
    rssMb: Object.fromEntries(
      Object.entries(d.pids)
        .filter(([n]) => n !== 'postgres')
        .map(([name, pid]) => [name, rssMb(pid)]),
    ),
    eventIds: sample.rows.map((r) => r.event_id as string),
  };
}

/** Events posted and processed, unmeasured: a running service has its code optimised and its caches warm. */
export async function warmUp(d: ThrowawayDeployment, db: pg.Pool, count: number, concurrency: number): Promise<void> {
  const run = `warm_${Date.now()}`;
  await pool(count, concurrency, async (i) => void (await postEvent(d.apiUrl, 'bench_warm', { run, i })));
  await completions(db, run, count, d.pids);
}

/** All worker processes together (with --workers N). */
export const workersCpu = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .filter(([name]) => name.startsWith('worker'))
    .reduce((sum, [, ms]) => sum + ms, 0);
