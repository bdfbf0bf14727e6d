import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { runFailoverDrill, startFailoverDeployment } from '../test/failover/pg-failover.js';

// `npm run drill:pg-failover [-- --rate 40 --seconds 30 --async]`: the PostgreSQL failover drill
// (test/pg-failover.test.ts runs a short one) on a deployment of its own (.data/pg-failover, wiped
// first): a steady load, kill -9 of the primary, promotion of the replica, then every event
// answered 202 checked. --async: the replica without synchronous commit, to see what that risks.
// --logs: the API's and worker's log lines.

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '30' },
    async: { type: 'boolean', default: false },
    logs: { type: 'boolean', default: false },
  },
});

const { dev } = loadConfig();
const dataDir = resolve('.data/pg-failover');
await rm(dataDir, { recursive: true, force: true });
console.log(`starting a deployment with ${args.async ? 'an asynchronous' : 'a synchronous'} replica (data in ${dataDir}, wiped first) ...`);
const d = await startFailoverDeployment({
  dataDir,
  cacheDir: dev.cacheDir,
  ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
  mode: args.async ? 'async' : 'sync',
  env: { LOG_LEVEL: args.logs ? 'warn' : 'fatal' },
  log: createLogger('pg-failover', 'warn'),
  stdio: args.logs ? 'inherit' : 'ignore',
});
try {
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const r = await runFailoverDrill(d, { rate, seconds });
  console.log(`\n${rate} events/s for ${seconds} s, one webhook subscriber; the primary killed -9 ${seconds / 4} s in`);
  console.log(
    `  acked ${r.acked}, completed ${r.completed}, duplicated ${r.duplicated}, undelivered ${r.undelivered}, dead letters ${r.deadLettered}`,
  );
  console.log(`  recovery point: ${r.lost} acknowledged events lost`);
  console.log(`  recovery time: replica promoted ${r.promotedAfterMs} ms after the kill; API and worker healthy after ${r.recoverMs} ms;`);
  console.log(
    `                 longest stretch without an event completing ${r.processingStallMs} ms, without a 202 ${r.ingestStallMs} ms`,
  );
  console.log(`  the bridge's backlog after the drain: ${r.backlog.pending} not taken, ${r.backlog.ackPending} taken and not acked`);
  if (d.exited.length > 0) console.log(`  exited on their own (nothing restarts them here): ${d.exited.join(', ')}`);
  if (r.lostSample.length > 0) console.log('  lost, for example', r.lostSample);
  process.exitCode = r.acked === 0 || d.exited.length > 0 || r.lost + r.duplicated + r.undelivered + r.deadLettered > 0 ? 1 : 0;
} finally {
  await d.stop();
}
