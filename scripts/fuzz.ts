import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import type { FuzzAuth } from '../test/fuzz/requests.js';
import { type ClassCounts, type FuzzReport, runFuzz } from '../test/fuzz/run-fuzz.js';

// `npm run fuzz [-- --count 10000 --seed N --concurrency 16 --auth --stall 60]`: hostile requests against a
// throwaway deployment; every answer must be a 2xx or a 4xx with the error body, every event
// answered 202 must reach an end state, and the service must stay healthy. Exits 1 otherwise.
// With --auth the deployment checks credentials (a JWT secret and a write key), so forged ones
// meet the verifier instead of an open API. Accepted events are waited for until none has ended
// for --stall seconds. A failure names its request's seed and index.

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    auth: { type: 'boolean', default: false },
    stall: { type: 'string', default: '60' },
  },
});

const COLUMNS = ['sent', '2xx', '4xx', '5xx', 'dropped'] as const;

function printTable(report: FuzzReport): void {
  const width = Math.max(5, ...Object.keys(report.byClass).map((c) => c.length));
  const row = (name: string, c: ClassCounts) =>
    console.log(`${name.padEnd(width)}  ${COLUMNS.map((k) => String(c[k]).padStart(7)).join('')}`);
  console.log(`${'class'.padEnd(width)}  ${COLUMNS.map((k) => k.padStart(7)).join('')}`);
  for (const [name, counts] of Object.entries(report.byClass).sort(([a], [b]) => a.localeCompare(b))) row(name, counts);
  console.log('-'.repeat(width + 2 + 7 * COLUMNS.length));
  row('total', report.total);
}

function printFailures(report: FuzzReport): void {
  const byProblem = new Map<string, FuzzReport['failures']['requests']>();
  for (const f of report.failures.requests) {
    const key = f.problem.replace(/: ".*$/, '');
    byProblem.set(key, [...(byProblem.get(key) ?? []), f]);
  }
  for (const [problem, list] of byProblem) {
    console.log(`\nFAILED ×${list.length}: ${problem}`);
    // One example of each class first: the same problem met from another side is worth seeing.
    const firstOfClass = list.filter((f, i) => list.findIndex((g) => g.class === f.class) === i);
    const examples = [...firstOfClass, ...list.filter((f) => !firstOfClass.includes(f))].slice(0, Math.max(3, firstOfClass.length));
    for (const f of examples) {
      console.log(`  #${f.index} ${f.class}: ${f.request}`);
      if (f.answer !== undefined) console.log(`    answered ${f.status}: ${f.answer}`);
    }
  }
  if (report.failures.unfinished.length > 0) {
    const byStatus = new Map<string, number>();
    for (const u of report.failures.unfinished) byStatus.set(u.status ?? '(no row)', (byStatus.get(u.status ?? '(no row)') ?? 0) + 1);
    console.log(
      `\nFAILED: ${report.failures.unfinished.length} events answered 202 never reached an end state (${[...byStatus].map(([s, n]) => `${s} ×${n}`).join(', ')})`,
    );
    for (const u of report.failures.unfinished.slice(0, 5)) console.log(`  ${u.eventId} status ${u.status ?? '(no row)'}, from ${u.from}`);
  }
  if (report.failures.health) console.log(`\nFAILED: ${report.failures.health}`);
}

async function main(): Promise<number> {
  const count = Number(args.count);
  const seed = args.seed === undefined ? randomBytes(4).readInt32LE() : Number(args.seed);
  const { dev } = loadConfig();
  const log = createLogger('fuzz', 'error');
  const auth: FuzzAuth | undefined = args.auth
    ? { jwtSecret: randomBytes(32).toString('base64url'), writeKey: `pk_fuzz_${randomUUID()}` }
    : undefined;
  console.log(`starting a throwaway deployment (data in .data/fuzz, wiped first${auth ? ', credentials checked' : ''}) ...`);
  // A fresh deployment each run: nothing an earlier run left (parked events, ids) is counted.
  const dataDir = resolve('.data/fuzz');
  await rm(dataDir, { recursive: true, force: true });
  const d = await startThrowawayDeployment({
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env: { LOG_LEVEL: 'error', ...(auth && { AUTH_JWT_SECRET: auth.jwtSecret, WRITE_KEYS: `fuzz:${auth.writeKey}` }) },
    log,
  });
  try {
    console.log(`fuzzing: ${count} requests, seed ${seed}, ${args.concurrency} at a time`);
    const began = performance.now();
    let lastLine = 0;
    const report = await runFuzz({
      apiUrl: d.apiUrl,
      databaseUrl: d.databaseUrl,
      count,
      seed,
      concurrency: Number(args.concurrency),
      stallTimeoutMs: Number(args.stall) * 1000,
      ...(auth && { auth }),
      onProgress: (stage, done, of) => {
        const now = performance.now();
        if (stage === 'sent' ? done % 1000 !== 0 : now - lastLine < 10_000 && done < of) return;
        lastLine = now;
        console.log(
          `  ${done} of ${of} ${stage === 'sent' ? 'requests sent' : 'accepted events ended'} (${Math.round((now - began) / 1000)} s)`,
        );
      },
    });
    console.log(`done in ${Math.round((performance.now() - began) / 1000)} s\n`);
    printTable(report);
    console.log(
      `\nanswers by status: ${Object.entries(report.statuses)
        .map(([s, n]) => `${s} ×${n}`)
        .join(', ')}`,
    );
    console.log(`events answered 202: ${report.accepted}, reached an end state: ${report.finished}`);
    console.log(`health after the run: ${report.failures.health ?? 'healthy (200)'}`);
    printFailures(report);
    console.log(report.ok ? '\nOK' : `\nFAILED (rerun with --seed ${seed} to get the same requests)`);
    return report.ok ? 0 : 1;
  } finally {
    await d.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
