import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt } from '../bench/stats.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startChaosDeployment } from '../test/chaos/deployment.js';
import { ALL_FAULTS, type Fault, runChaos } from '../test/chaos/run-chaos.js';

// `npm run chaos [-- --rate 60 --seconds 30 --only "kill -9 worker"]`: a deployment of its own
// (.data/chaos, wiped first) under a steady load with one webhook subscriber; each fault in turn
// (kill -9 the API, kill -9 the worker, restart NATS, PostgreSQL, Temporal), then the promise
// checked. Exits non-zero if any event answered 202 was lost, duplicated or not delivered.
// The default rate is 0.8 × the ~75 events/s the machine sustains with a webhook subscriber
// (npm run bench); pass --rate to match yours.

const { values: args } = parseArgs({
  options: { rate: { type: 'string', default: '60' }, seconds: { type: 'string', default: '30' }, only: { type: 'string', multiple: true } },
});

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const dataDir = resolve('.data/chaos');
  await rm(dataDir, { recursive: true, force: true });
  console.log('starting a deployment for chaos (data in .data/chaos, wiped first) ...');
  const d = await startChaosDeployment({
    dataDir, cacheDir: dev.cacheDir, ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env: { LOG_LEVEL: 'fatal' }, log: createLogger('chaos', 'error'),
  });
  try {
    const faults = (args.only as Fault[] | undefined) ?? ALL_FAULTS;
    const results = await runChaos(d, { rate: Number(args.rate), seconds: Number(args.seconds), faults });
    console.log(`\n${fmt(Number(args.rate))} events/s offered, ${args.seconds} s per fault, one webhook subscriber\n`);
    const header = ['fault', 'sent', 'acked', 'completed', 'lost', 'duplicated', 'undelivered', 'dead letters', 'recovered in'];
    const rows = results.map((r) => [r.fault, fmt(r.sent), fmt(r.acked), fmt(r.completed), fmt(r.lost), fmt(r.duplicated), fmt(r.undelivered), fmt(r.deadLettered), `${fmt(r.recoverMs / 1000, 1)} s`]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    for (const r of results.filter((x) => x.lostSample.length > 0)) console.log(`\n${r.fault}: lost, for example`, r.lostSample);
    const broken = results.some((r) => r.lost + r.duplicated + r.undelivered + r.deadLettered > 0);
    console.log(broken ? '\nPROMISE BROKEN' : '\nevery event answered 202 was stored once, completed and delivered');
    process.exitCode = broken ? 1 : 0;
  } finally {
    await d.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
