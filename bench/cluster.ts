import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startClusterDeployment } from '../src/dev/cluster/cluster-deployment.js';
import { startThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { completions } from './burst.js';
import { postEvent } from './load.js';
import { cpuMeter, descendants } from './proc.js';
import { fmt, median, pool } from './stats.js';

// `npm run bench -- --cluster [--events 2000 --pairs 2 --cpus 0]`: the capacity model measured.
// The single-node deployment (Temporal's server on PostgreSQL, one API, one worker) and the
// cluster profile (npm start -- --cluster) are started in turn, alternated (single, cluster,
// single, cluster …, each fresh, from dist/), each warmed up and then given a burst of events
// (round-robin over the APIs, no processors); printed: end-to-end events/s (median and min over
// the pairs) and CPU per event of each process. With --cpus, every process of both deployments
// is pinned to those cores (taskset), so events/s per core and the gain from one core to two are
// measured rather than extrapolated.

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '2000' },
    pairs: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '48' },
    cpus: { type: 'string' },
    cluster: { type: 'boolean' },
  },
});
const N = Number(args.events);

interface Target {
  apiUrls: string[];
  databaseUrl: string;
  pids(): Record<string, number>;
  stop(): Promise<void>;
}
interface Sample {
  rate: number;
  cpuPerEvent: Record<string, number>;
}

/** Every thread of every process and of its children (PostgreSQL's backends) on `cpus`; what they start later inherits it. */
function pin(pids: Record<string, number>, cpus: string | undefined): void {
  if (!cpus) return;
  for (const pid of Object.values(pids).flatMap((p) => [p, ...descendants(p)])) {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  }
}

async function burst(t: Target, label: string): Promise<Sample> {
  const db = new pg.Pool({ connectionString: t.databaseUrl, max: 2 });
  try {
    const post = (run: string, count: number) =>
      pool(
        count,
        Number(args.concurrency),
        async (i) => void (await postEvent(t.apiUrls[i % t.apiUrls.length]!, 'bench_cluster', { run, i })),
      );
    const warm = `warm_${Date.now()}`;
    await post(warm, Math.min(500, N));
    await completions(db, warm, Math.min(500, N), t.pids());

    const run = `burst_${Date.now()}`;
    const cpu = cpuMeter(t.pids());
    await post(run, N);
    const done = await completions(db, run, N, t.pids());
    const used = cpu();
    const rate = N / ((done.lastCompleted - done.firstReceived) / 1000);
    console.log(`  ${label.padEnd(12)} ${fmt(rate, 1)} events/s end to end`);
    return { rate, cpuPerEvent: Object.fromEntries(Object.entries(used).map(([name, ms]) => [name, ms / N])) };
  } finally {
    await db.end();
  }
}

async function single(dataDir: string, cacheDir: string): Promise<Target> {
  const d = await startThrowawayDeployment({
    dataDir,
    cacheDir,
    env: { LOG_LEVEL: 'error' },
    log: createLogger('bench', 'error'),
    temporalKind: 'server',
    built: true,
  });
  return { apiUrls: [d.apiUrl], databaseUrl: d.databaseUrl, pids: () => d.pids, stop: d.stop };
}

async function cluster(dataDir: string, cacheDir: string): Promise<Target> {
  const c = await startClusterDeployment({
    dataDir,
    cacheDir,
    log: createLogger('bench', 'error'),
    env: { LOG_LEVEL: 'error' },
    built: true,
  });
  return { apiUrls: c.apiUrls, databaseUrl: c.databaseUrl, pids: c.pids, stop: c.stop };
}

function print(name: string, samples: Sample[]): void {
  const rates = samples.map((s) => s.rate);
  console.log(
    `\n${name}: ${fmt(median(rates), 1)} events/s median, ${fmt(Math.min(...rates), 1)} min (${rates.map((r) => fmt(r, 1)).join(', ')})`,
  );
  const names = Object.keys(samples[0]!.cpuPerEvent);
  const cpu = names.map((n) => [n, median(samples.map((s) => s.cpuPerEvent[n] ?? NaN))] as const);
  const total = cpu.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(`  CPU per event (median): ${cpu.map(([n, ms]) => `${n} ${fmt(ms, 1)}`).join(', ')} ms; all together ${fmt(total, 1)} ms`);
}

async function main(): Promise<void> {
  const { dev } = loadConfig();
  execFileSync('npm', ['run', '--silent', 'build:dist'], { stdio: 'pipe' });
  const pairs = Number(args.pairs);
  console.log(
    `single node vs cluster, ${pairs} alternated pairs, bursts of ${fmt(N)} events${args.cpus ? `, pinned to CPUs ${args.cpus}` : ''}`,
  );
  const samples: Record<'single' | 'cluster', Sample[]> = { single: [], cluster: [] };
  for (let p = 0; p < pairs; p++) {
    for (const [kind, start] of [
      ['single', single],
      ['cluster', cluster],
    ] as const) {
      const dataDir = resolve(`.data/bench-${kind}`);
      await rm(dataDir, { recursive: true, force: true });
      const t = await start(dataDir, dev.cacheDir);
      try {
        pin(t.pids(), args.cpus);
        samples[kind].push(await burst(t, `${kind} #${p + 1}`));
      } finally {
        await t.stop();
      }
    }
  }
  print('single node (Temporal server, 1 API, 1 worker)', samples.single);
  print('cluster (3 NATS at R3, Temporal split, 2 APIs, 2 workers)', samples.cluster);
  console.log(
    `\ncluster / single node: ${fmt(median(samples.cluster.map((s) => s.rate)) / median(samples.single.map((s) => s.rate)), 2)} ×`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
