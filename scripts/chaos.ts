import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt } from '../bench/stats.js';
import { loadConfig } from '../src/config.js';
import { startClusterDeployment } from '../src/dev/cluster/cluster-deployment.js';
import { createLogger } from '../src/logger.js';
import { CLUSTER_FAULTS, type ClusterFaultName, SHORT_CLUSTER_FAULTS, clusterFaults, clusterTarget } from '../test/chaos/cluster-faults.js';
import { singleNodeFaults, startChaosDeployment } from '../test/chaos/deployment.js';
import { type ChaosTarget, type Fault, type FaultResult, runChaos } from '../test/chaos/run-chaos.js';

// `npm run chaos [-- --rate 60 --seconds 30 --only "kill -9 worker"]`: a deployment of its own
// (.data/chaos, wiped first) under a steady load with one webhook subscriber; each fault in turn
// (kill -9 the API, kill -9 the worker, kill -9 the worker while a paused subscriber is resumed and its
// waiting deliveries drain, restart NATS, PostgreSQL, Temporal), then the promise
// checked. Exits non-zero if any event answered 202 was lost, duplicated or not delivered.
// The default rate is 0.8 × the ~75 events/s the machine sustains with a webhook subscriber
// (npm run bench); pass --rate to match yours.
//
// `npm run chaos -- --cluster [--short] [--down 10]`: the same promise on the cluster profile
// (.data/chaos-cluster): the NATS node leading EVENTS, a history host, matching, the frontend, a
// worker and an API each killed -9 and kept down --down seconds, then PostgreSQL restarted; the
// load goes round-robin to both APIs. --short: the NATS leader and a history host (what CI runs).

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string' },
    seconds: { type: 'string' },
    only: { type: 'string', multiple: true },
    cluster: { type: 'boolean', default: false },
    short: { type: 'boolean', default: false },
    down: { type: 'string', default: '10' },
  },
});
// 0.8 × what each shape sustains here with one webhook subscriber (docs/performance.md).
const rate = Number(args.rate ?? (args.cluster ? 24 : 60));
const seconds = Number(args.seconds ?? (args.cluster ? 40 : 30));

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const log = createLogger('chaos', 'error');
  const dataDir = resolve(args.cluster ? '.data/chaos-cluster' : '.data/chaos');
  await rm(dataDir, { recursive: true, force: true });
  console.log(`starting a ${args.cluster ? 'cluster' : 'deployment'} for chaos (data in ${dataDir}, wiped first) ...`);
  let target: ChaosTarget & { stop(): Promise<void> };
  let faults: Fault[];
  if (args.cluster) {
    // Fourteen processes share the machine's cores: the APIs and workers run as production runs
    // them, from dist/ (built first), not through tsx.
    execFileSync('npm', ['run', '--silent', 'build:dist'], { stdio: 'pipe' });
    const c = await startClusterDeployment({ dataDir, cacheDir: dev.cacheDir, log, env: { LOG_LEVEL: 'warn' }, built: true });
    target = { ...clusterTarget(c), stop: c.stop };
    const names = (args.only as ClusterFaultName[] | undefined) ?? (args.short ? SHORT_CLUSTER_FAULTS : CLUSTER_FAULTS);
    faults = clusterFaults(c, Number(args.down) * 1000, names);
  } else {
    const d = await startChaosDeployment({
      dataDir,
      cacheDir: dev.cacheDir,
      ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
      env: { LOG_LEVEL: 'fatal' },
      log,
    });
    target = d;
    faults = singleNodeFaults(d).filter((f) => !args.only || args.only.includes(f.name));
  }
  try {
    const results = await runChaos(target, { rate, seconds, faults, progress: (line) => console.log(`  ${line}`) });
    console.log(
      `\n${fmt(rate)} events/s offered, ${seconds} s per fault${args.cluster ? `, each process down ${args.down} s` : ''}, one webhook subscriber\n`,
    );
    printTable(results);
    // A run in which nothing was acknowledged proves nothing: that fails too.
    const broken = results.some((r) => r.acked === 0 || r.lost + r.duplicated + r.undelivered + r.deadLettered > 0);
    console.log(broken ? '\nPROMISE BROKEN' : '\nevery event answered 202 was stored once, completed and delivered');
    process.exitCode = broken ? 1 : 0;
  } finally {
    await target.stop();
  }
}

function printTable(results: FaultResult[]): void {
  const header = [
    'fault',
    'sent',
    'acked',
    'completed',
    'lost',
    'duplicated',
    'undelivered',
    'dead letters',
    'recovered in',
    'ingest stall',
    'processing stall',
  ];
  const s = (ms: number) => `${fmt(ms / 1000, 1)} s`;
  const rows = results.map((r) => [
    r.fault,
    fmt(r.sent),
    fmt(r.acked),
    fmt(r.completed),
    fmt(r.lost),
    fmt(r.duplicated),
    fmt(r.undelivered),
    fmt(r.deadLettered),
    s(r.recoverMs),
    s(r.ingestStallMs),
    s(r.processingStallMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  for (const r of results.filter((x) => x.lostSample.length > 0)) console.log(`\n${r.fault}: lost, for example`, r.lostSample);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
