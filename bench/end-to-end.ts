import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment, type ThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { type BurstSample, burst, warmUp, workersCpu } from './burst.js';
import { historySizes } from './histories.js';
import { measureIngestCeilings, sampleWorkflowCeiling, startWarmCeilingWorker, type WorkflowCeiling } from './limits/ceilings.js';
import type { CeilingWorker } from './limits/ceiling-process.js';
import { ingestionUnderProcessing, soak, steady } from './phases.js';
import { fmt, percentile } from './stats.js';
import { type Pair, printResults } from './summary.js';
import { type Receiver, subscribe } from './receiver.js';

// `npm run bench [-- --events 3000 --pairs 3 --concurrency 50 --steady 20 --soak 0 --workers 1 --temporal cli|server --from dist|source --set NAME=value]`:
// on a throwaway deployment,
//  0. the ingestion ceilings (HTTP + JetStream ack, pipelined publishes), once; N events
//     processed unmeasured and N of the ceiling's workflows (code optimised, caches warm);
//  1. --pairs times, alternating: the local-activity ceiling (N workflows in a closed loop, in a
//     worker process of its own, niced as the project's), then a burst of N events with no
//     processors; the ceiling again, then a burst with one webhook subscriber. Each burst is
//     compared with the ceiling measured just before it, so a ratio is taken from adjacent
//     samples and the machine's drift between pairs cancels out;
//  2. one table: min / median over the pairs of the rates, the CPU per event of each process and
//     the ratios, the history per completed event beside the ceiling's, and the targets;
//  3. steady load at half the sustainable rate (its latency); ingestion while processing runs flat
//     out; with --soak S, S seconds at 0.8 × the sustainable rate, memory of the API and the worker.
// Nothing is asserted. `--from source` runs the API and the worker as `npm start` does (tsx).

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '3000' },
    pairs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '50' },
    steady: { type: 'string', default: '20' },
    soak: { type: 'string', default: '0' },
    workers: { type: 'string', default: '1' },
    // `server`: Temporal's own server on PostgreSQL (the production path) instead of the CLI's dev server.
    temporal: { type: 'string', default: 'cli' },
    // `dist`: the API and the worker built first and run as production runs them; `source`: as `npm start` runs them.
    from: { type: 'string', default: 'dist' },
    // `--set NAME=value` (repeatable): a setting of the services (docs/configuration.md), to measure what it costs.
    set: { type: 'string', multiple: true, default: [] },
  },
});
const N = Number(args.events);
const C = Number(args.concurrency);
const PAIRS = Number(args.pairs);
/** The ceiling's closed loop: as many workflows in flight as the bridge keeps events in progress. */
const IN_FLIGHT = 48;
if (!(N > 0 && PAIRS > 0 && C > 0)) throw new Error('--events, --pairs and --concurrency are positive numbers');
if (args.from !== 'dist' && args.from !== 'source') throw new Error(`--from is dist or source, not ${args.from}`);
const SETTINGS = Object.fromEntries(
  args.set.map((kv) => {
    const at = kv.indexOf('=');
    if (at < 1) throw new Error(`--set takes NAME=value, not ${kv}`);
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);

const rate = (w: WorkflowCeiling, b: BurstSample) =>
  `ceiling ${fmt(w.perSecond)} workflows/s, project ${fmt(b.e2ePerSecond)} events/s = ${fmt(b.e2ePerSecond / w.perSecond, 2)} ×; ` +
  `worker CPU ${fmt(w.workerCpuMs, 2)} → ${fmt(workersCpu(b.cpuMsPerEvent), 2)} ms, Temporal ${fmt(w.temporalCpuMs, 2)} → ${fmt(b.cpuMsPerEvent.temporal ?? NaN, 2)} ms`;

async function pairs(d: ThrowawayDeployment, db: pg.Pool, ceiling: CeilingWorker) {
  const stack = { temporal: d.pids.temporal, postgres: d.pids.postgres };
  const sampleCeiling = () => sampleWorkflowCeiling(ceiling, stack, { shape: 'localActivity', count: N, inFlight: IN_FLIGHT });
  const plain: Pair[] = [];
  const webhook: Pair[] = [];
  for (let i = 1; i <= PAIRS; i++) {
    const c1 = await sampleCeiling();
    plain.push({ ceiling: c1, project: await burst(d, db, 'bench_plain', N, C) });
    console.log(`  pair ${i}/${PAIRS}, no processors:         ${rate(c1, plain.at(-1)!.project)}`);
    const c2 = await sampleCeiling();
    webhook.push({ ceiling: c2, project: await burst(d, db, 'bench_webhook', N, C) });
    console.log(`  pair ${i}/${PAIRS}, one webhook subscriber: ${rate(c2, webhook.at(-1)!.project)}`);
  }
  return { plain, webhook };
}

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const log = createLogger('bench', 'error');
  const built = args.from === 'dist';
  if (built) execFileSync('npm', ['run', '--silent', 'build:dist'], { stdio: 'pipe' }); // its output only in the error, if it fails
  console.log(
    `starting a throwaway deployment (data in .data/bench, wiped first; services from ${built ? 'dist/' : 'source, as npm start runs them'}` +
      `${args.set.length ? `; ${args.set.join(' ')}` : ''}) ...`,
  );
  // A fresh deployment each run: figures do not depend on what earlier runs left behind.
  const dataDir = resolve('.data/bench');
  await rm(dataDir, { recursive: true, force: true });
  const d = await startThrowawayDeployment({
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env: { LOG_LEVEL: 'error', ...SETTINGS },
    log,
    workers: Number(args.workers),
    temporalKind: args.temporal === 'server' ? 'server' : 'cli',
    built,
  });
  const db = new pg.Pool({ connectionString: d.databaseUrl, max: 2 });
  const connection = await Connection.connect({ address: d.temporalAddress });
  const client = new Client({ connection });
  let ceiling: CeilingWorker | undefined;
  let receiver: Receiver | undefined;
  try {
    const ingest = await measureIngestCeilings(d.natsUrl, 5);
    console.log(
      `\nceilings of this machine: HTTP (Fastify) answered once JetStream acked ${fmt(ingest.httpAckPerSecond)} req/s; JetStream publishes, pipelined ${fmt(ingest.publishPerSecond)} msgs/s`,
    );
    receiver = await subscribe(d.apiUrl, 'events.backend.service.bench_webhook');
    ceiling = await startWarmCeilingWorker(d.temporalAddress, N, IN_FLIGHT);
    // As many unmeasured as a burst: the first measured burst ran slower than the later ones after 500.
    await warmUp(d, db, N, C);

    console.log(`\n${PAIRS} pairs of ${fmt(N)} events or workflows, ${C} concurrent posts, the ceiling ${IN_FLIGHT} workflows in flight:`);
    const { plain, webhook } = await pairs(d, db, ceiling);
    const histories = {
      ceiling: await historySizes(
        client,
        plain.flatMap((p) => p.ceiling.workflowIds),
      ),
      project: await historySizes(
        client,
        plain.flatMap((p) => p.project.eventIds),
      ),
    };
    printResults({ plain, webhook, histories, from: built ? 'dist' : 'source' });
    console.log(
      `  deliveries received: ${fmt(receiver.delivered())} of ${fmt(N * PAIRS)}; resident memory after the last burst: ${Object.entries(
        webhook.at(-1)!.project.rssMb,
      )
        .map(([name, mb]) => `${name} ${fmt(mb)} MB`)
        .join(', ')}`,
    );

    const sustainable = percentile(
      plain.map((p) => p.project.e2ePerSecond).sort((a, b) => a - b),
      50,
    );
    // `--steady 0`: the pairs alone.
    if (Number(args.steady) > 0) {
      await steady(d, db, Math.max(1, Math.round(sustainable / 2)), Number(args.steady), 'steady load at half the sustainable rate');
      await ingestionUnderProcessing(d, db, N, C);
    }
    if (Number(args.soak) > 0) await soak(d, db, Math.round(sustainable * 0.8), Number(args.soak));
  } finally {
    await ceiling?.stop();
    receiver?.close();
    await connection.close();
    await db.end();
    await d.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
