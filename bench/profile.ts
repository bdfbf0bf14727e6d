import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { burst, warmUp } from './burst.js';
import { subscribe } from './receiver.js';

// `npm run bench:profile [-- --events 3000 --concurrency 50 --top 25 --subscriber]`: where the
// worker's CPU goes. The built service on a throwaway deployment (.data/bench-profile), every
// thread of the API and the worker under V8's sampling profiler (--cpu-prof); after a warm-up, one
// burst of N events with no processors (`--subscriber`: with one webhook subscriber), then the worker's samples grouped by where the code comes from (a package,
// a file of ours, V8 itself) and by function. JavaScript only: the Temporal SDK's Rust core and
// the bridge to it show as native time in the CPU figures `npm run bench` prints, not here.

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '50' },
    top: { type: 'string', default: '25' },
    subscriber: { type: 'boolean', default: false },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code comes from: an npm package, a module of ours, or V8's own bookkeeping. */
function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const ours = /\/(dist|src|lib)\/(.+)$/.exec(url);
  if (ours) return `ours: ${ours[2]}`;
  if (url.includes('workflow-bundle')) return 'workflow bundle';
  return url.replace(/^file:\/\//, '').slice(-60);
}

/** Self time in ms per key, from a profile's samples (each sample is time spent in its node). */
function selfTime(profile: CpuProfile, key: (n: ProfileNode) => string, into: Map<string, number>): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const k = key(byId.get(id)!);
    into.set(k, (into.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
}

function printTable(title: string, totals: Map<string, number>, events: number, top: number): void {
  const busy = [...totals].filter(([k]) => k !== '(idle)');
  const sum = busy.reduce((s, [, ms]) => s + ms, 0);
  console.log(`\n${title} (busy ${sum.toFixed(0)} ms = ${(sum / events).toFixed(2)} ms per event; idle left out)`);
  for (const [k, ms] of busy.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((100 * ms) / sum).toFixed(1).padStart(5)} %  ${(ms / events).toFixed(3).padStart(6)} ms/event  ${k}`);
  }
}

async function main(): Promise<void> {
  const N = Number(args.events);
  const { dev } = loadConfig();
  execFileSync('npm', ['run', '--silent', 'build:dist'], { stdio: 'pipe' });
  const dataDir = resolve('.data/bench-profile');
  const profDir = join(dataDir, 'profiles');
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(profDir, { recursive: true });
  console.log(`profiling the built API and worker under ${N} events (profiles in ${profDir}) ...`);
  const d = await startThrowawayDeployment({
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env: { LOG_LEVEL: 'error', NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` },
    log: createLogger('bench', 'error'),
    built: true,
  });
  const db = new pg.Pool({ connectionString: d.databaseUrl, max: 2 });
  const workerPid = d.pids.worker!;
  const receiver = args.subscriber ? await subscribe(d.apiUrl, 'events.backend.service.bench_profile') : undefined;
  try {
    await warmUp(d, db, 500, Number(args.concurrency));
    const sample = await burst(d, db, 'bench_profile', N, Number(args.concurrency));
    if (receiver) console.log(`${receiver.delivered()} deliveries received`);
    console.log(
      `${N} events at ${sample.e2ePerSecond.toFixed(0)} events/s; worker CPU ${sample.cpuMsPerEvent.worker!.toFixed(2)} ms per event`,
    );
  } finally {
    await db.end();
    await d.stop(); // the profiles are written as the processes exit
    receiver?.close();
  }
  // Node names a thread's profile CPU.<date>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
  const files = (await readdir(profDir)).filter((f) => f.includes(`.${workerPid}.`));
  if (files.length === 0) throw new Error(`no profile of the worker (pid ${workerPid}) in ${profDir}`);
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const byThread = new Map<string, number>();
  for (const f of files) {
    const profile = JSON.parse(await readFile(join(profDir, f), 'utf8')) as CpuProfile;
    const thread = Number(f.split('.')[4]) === 0 ? 'main thread' : 'workflow threads';
    selfTime(profile, (n) => origin(n.callFrame.url, n.callFrame.functionName), byOrigin);
    selfTime(
      profile,
      (n) =>
        `${n.callFrame.functionName || '(anonymous)'}  ${origin(n.callFrame.url, n.callFrame.functionName)}:${n.callFrame.lineNumber + 1}`,
      byFunction,
    );
    selfTime(profile, (n) => (n.callFrame.functionName === '(idle)' ? '(idle)' : thread), byThread);
  }
  console.log(`\nworker: ${files.length} thread profiles, whole run (warm-up included), divided by the ${N + 500} events`);
  printTable('by thread', byThread, N + 500, 5);
  printTable('by origin', byOrigin, N + 500, Number(args.top));
  printTable('by function', byFunction, N + 500, Number(args.top));
}

await main();
