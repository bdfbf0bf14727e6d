import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { startStack } from '../src/dev/stack.js';
import { findFreePort } from '../src/dev/ports.js';
import { createLogger } from '../src/logger.js';
import { printCeilings } from './limits/print.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { measureCeilings } from './limits/ceilings.js';

// `npm run bench:limits [-- --workflows 1500 --in-flight 48 --seconds 5]`: the ceilings of this
// machine on the stack `npm start` runs (same Temporal settings): HTTP + JetStream acks, JetStream
// publishes, and Temporal workflows (empty; local activities + one upsert), started eagerly in a
// closed loop, by a worker process of its own niced as the dev stack's worker is. `npm run bench`
// measures them again in its own run and prints the project beside.

const { values: args } = parseArgs({
  options: {
    workflows: { type: 'string', default: '1500' },
    'in-flight': { type: 'string', default: '48' },
    seconds: { type: 'string', default: '5' },
  },
});

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { dev } = loadConfig();
  const dataDir = resolve('.data/bench-limits');
  await rm(dataDir, { recursive: true, force: true });
  const [port, uiPort, natsPort] = await Promise.all([findFreePort(), findFreePort(), findFreePort()]);
  console.log('starting Temporal and NATS as npm start does (data in .data/bench-limits, wiped first) ...');
  const stack = await startStack({
    dataDir,
    cacheDir: dev.cacheDir,
    log: createLogger('bench', 'error'),
    temporal: { port, uiPort, ...(dev.temporalCliPath && { cliPath: dev.temporalCliPath }) },
    nats: { port: natsPort },
  });
  try {
    const ceilings = await measureCeilings(
      { natsUrl: stack.natsUrl!, temporalAddress: stack.temporalAddress!, pids: stack.pids },
      {
        workflows: Number(args.workflows),
        inFlight: Number(args['in-flight']),
        seconds: Number(args.seconds),
      },
    );
    printCeilings(ceilings);
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
