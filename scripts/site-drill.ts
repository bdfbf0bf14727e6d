import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { startTwoSites } from '../src/dev/site/two-sites.js';
import { createLogger } from '../src/logger.js';
import { DRILL_ENV, runSiteDrill } from '../test/site/drill.js';
import { startReceiver } from '../test/webhook-receiver.js';

// `npm run drill:site [-- --seconds 30 --rate 40 --clients 8 --logs]`: the second site's drill with a longer load
// (the test: 4 s at 25 events/s). Two sites of their own under .data/site-drill (wiped first),
// one webhook subscriber; exits non-zero if anything the mirror held was lost or anything was
// stored or delivered twice unexplained. --logs: the promoted site's API and worker log here.

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    clients: { type: 'string', default: '8' },
    rate: { type: 'string', default: '40' },
    logs: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const log = createLogger('site-drill', 'error');
  const dataDir = resolve('.data/site-drill');
  await rm(dataDir, { recursive: true, force: true });
  console.log(`starting two sites (data in ${dataDir}, wiped first) ...`);
  const receiver = await startReceiver();
  const sites = await startTwoSites({
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    temporalKind: dev.temporalKind,
    env: { ...DRILL_ENV, LOG_LEVEL: args.logs ? 'warn' : 'fatal' },
    log,
    ...(args.logs && { serviceOutput: 'inherit' as const }),
  });
  try {
    console.log(`load on site 1 for ${args.seconds} s with ${args.clients} clients, then site 1 killed -9 and site 2 promoted ...`);
    const r = await runSiteDrill({
      sites,
      dataDir,
      receiver,
      loadMs: Number(args.seconds) * 1000,
      rate: Number(args.rate),
      concurrency: Number(args.clients),
      log,
    });
    const { lost, processedAtBoth, deliveredTwice, ...rest } = r;
    console.log(
      JSON.stringify(
        { ...rest, lost: lost.length, processedAtBoth: processedAtBoth.length, deliveredTwice: deliveredTwice.length },
        null,
        2,
      ),
    );
    const bad = r.lostButMirrored.length + r.duplicatesAtStandby.length + r.deliveredTwiceUnexplained.length;
    if (bad > 0 || r.afterPromotion !== 5) process.exitCode = 1;
  } finally {
    await sites.stop();
    await receiver.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
