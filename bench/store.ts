import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorsPlugin } from '../src/api/plugins/errors.js';
import { eventQueryRoutes } from '../src/api/routes/event-queries.js';
import { statsRoutes } from '../src/api/routes/stats.js';
import { childEnv, loadConfig } from '../src/config.js';
import { findFreePort } from '../src/dev/ports.js';
import { startPostgres } from '../src/dev/postgres.js';
import type { EventEnvelope } from '../src/events/envelope.js';
import { createLogger } from '../src/logger.js';
import { rebuildProjections } from '../src/read-side/rebuild.js';
import { createEventsRepo } from '../src/store/events-repo.js';
import { migrate } from '../src/store/migrate.js';
import { createPool } from '../src/store/pool.js';
import { projectEvent } from '../src/read-side/projections.js';
import { fmt, pool as inParallel, summarize } from './stats.js';

// `npm run bench:store [-- --events 1000000 --store 20000 --requests 200]`: PostgreSQL alone (its
// own, in .data/bench-store, wiped first). Stores `--store` events with the workflow's own
// statement and projects them with the processor's (16 at a time), loads the rest of `--events`
// in bulk over three months, rebuilds the read models from them, then times each read endpoint
// (in-process Fastify, app.inject: no sockets) and the stats endpoint under load, cached and not.

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    store: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '200' },
  },
});
const TOTAL = Number(args.events);
const STORE = Math.min(Number(args.store), TOTAL);
const REQUESTS = Number(args.requests);
const DATA_DIR = resolve('.data/bench-store');
// Every user and session has events, whatever --events is: ~50 per user spread over the whole
// period, and sessions of 10 consecutive events.
const USERS = Math.max(1, Math.floor(TOTAL / 50));
const SESSIONS = Math.max(1, Math.floor(TOTAL / 10));
const log = createLogger('bench-store', 'warn');
const ms = (ns: bigint) => Number(ns) / 1e6;

const phase = (what: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${what}\n`);

async function timed(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  await inParallel(count, concurrency, async (i) => {
    const t = process.hrtime.bigint();
    await task(i);
    latencies.push(ms(process.hrtime.bigint() - t));
  });
  const seconds = ms(process.hrtime.bigint() - started) / 1000;
  return { rate: count / seconds, ...summarize(latencies) };
}

async function main() {
  await rm(DATA_DIR, { recursive: true, force: true });
  const pg = await startPostgres(DATA_DIR, { port: await findFreePort() }, log);
  const db = createPool(pg.databaseUrl, 20);
  let app: FastifyInstance | undefined;
  let server: ChildProcess | undefined;
  try {
    await migrate(db, log);
    const start = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 2, 1);
    for (let m = 0; m < 4; m++)
      await db.query('SELECT ensure_event_partition($1)', [
        new Date(Date.UTC(new Date(start).getUTCFullYear(), new Date(start).getUTCMonth() + m, 1)),
      ]);
    const span = Date.now() - start;

    // 1. The write path as the worker runs it: one statement to store, one to project.
    const repo = createEventsRepo(db);
    const events: EventEnvelope[] = Array.from({ length: STORE }, (_, i) => {
      const at = new Date(start + Math.floor((i / STORE) * span)).toISOString();
      return {
        event_id: randomUUID(),
        event_type: `t${i % 50}`,
        event_source: i % 2 ? 'frontend' : 'backend',
        event_category: i % 2 ? 'user_interaction' : 'service',
        user_id: `u${i % USERS}`,
        session_id: `s${Math.floor(i / 10)}`,
        data: { plan: `p${i % 500}`, n: i },
        metadata: {},
        timestamp: at,
        received_at: at,
      };
    });
    phase(`storing ${fmt(STORE)} events one statement each`);
    const store = await timed(STORE, 16, async (i) => void (await repo.begin(events[i]!, 'bench', events[i]!.received_at)));
    const cpuBefore = process.cpuUsage();
    const project = await timed(STORE, 16, async (i) => void (await projectEvent(db, events[i]!)));
    const cpu = process.cpuUsage(cpuBefore);
    // The client's side of a projection, what the worker pays per event: this process does nothing else meanwhile.
    const projectCpuMs = (cpu.user + cpu.system) / 1000 / STORE;
    const again = await timed(STORE, 16, async (i) => void (await projectEvent(db, events[i]!)));

    // 2. The rest in bulk, then the read models rebuilt from everything.
    phase(`loading ${fmt(TOTAL - STORE)} more in bulk`);
    const bulkStarted = Date.now();
    const CHUNK = 100_000;
    for (let offset = STORE; offset < TOTAL; offset += CHUNK) {
      await db.query(
        `WITH g AS (SELECT i, gen_random_uuid() AS id, to_timestamp($3 / 1000.0 + ($4 / 1000.0) * i / $5) AS at FROM generate_series($1::int, $2::int) i),
              ids AS (INSERT INTO event_ids SELECT id, at FROM g)
         INSERT INTO events (event_id, event_type, event_source, event_category, user_id, session_id, data, status, timestamp, received_at)
         SELECT id, 't' || (i % 50), CASE WHEN i % 2 = 1 THEN 'frontend' ELSE 'backend' END, CASE WHEN i % 2 = 1 THEN 'user_interaction' ELSE 'service' END,
                'u' || (i % ${USERS}), 's' || (i / 10), jsonb_build_object('plan', 'p' || (i % 500), 'n', i), 'completed', at, at FROM g`,
        [offset, Math.min(offset + CHUNK, TOTAL) - 1, start, span, TOTAL],
      );
    }
    const bulkSeconds = (Date.now() - bulkStarted) / 1000;
    await db.query('ANALYZE');
    phase('rebuilding the read models');
    const rebuildStarted = Date.now();
    const rebuilt = await rebuildProjections({ pool: db, chunkSize: 20_000 });
    const rebuildSeconds = (Date.now() - rebuildStarted) / 1000;
    await db.query('ANALYZE');

    // 3. The read endpoints, one request at a time.
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: pg.databaseUrl });
    const reads = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
    app = reads;
    reads.setValidatorCompiler(validatorCompiler);
    reads.setSerializerCompiler(serializerCompiler);
    await reads.register(errorsPlugin);
    for (const routes of [eventQueryRoutes, statsRoutes])
      await reads.register(routes, { prefix: '/api', pool: db, readPool: db, config, log });
    await reads.ready();
    const rnd = (n: number) => Math.floor(Math.random() * n);
    const iso = (t: number) => new Date(t).toISOString();
    const day = 86_400_000;
    const mid = start + span / 2;
    const first = (await reads.inject({ url: '/api/events?limit=50' })).json();
    let fresh = 0;
    const endpoints: [string, () => { method?: 'GET' | 'POST'; url: string; payload?: object }][] = [
      ['GET /api/events (newest 50)', () => ({ url: '/api/events?limit=50' })],
      ['GET /api/events next page (cursor)', () => ({ url: `/api/events?limit=50&cursor=${first.next_cursor}` })],
      ['GET /api/events?user_id', () => ({ url: `/api/events?user_id=u${rnd(USERS)}` })],
      [
        'GET /api/events?event_type&from&to (1 day)',
        () => ({ url: `/api/events?event_type=t${rnd(50)}&from=${iso(mid)}&to=${iso(mid + day)}` }),
      ],
      ['GET /api/events?source&category', () => ({ url: '/api/events?source=frontend&category=user_interaction' })],
      [
        'GET /api/events?data (containment)',
        () => ({ url: `/api/events?data=${encodeURIComponent(JSON.stringify({ plan: `p${rnd(500)}` }))}` }),
      ],
      ['GET /api/users/:id/events', () => ({ url: `/api/users/u${rnd(USERS)}/events` })],
      ['GET /api/users/:id/events?as_of', () => ({ url: `/api/users/u${rnd(USERS)}/events?as_of=${iso(mid)}` })],
      ['GET /api/sessions/:id', () => ({ url: `/api/sessions/s${rnd(SESSIONS)}` })],
      [
        'GET /api/stats/event-types, 24 h hourly (uncached)',
        () => ({ url: `/api/stats/event-types?from=${iso(mid + ++fresh)}&to=${iso(mid + day)}` }),
      ],
      [
        'GET /api/stats/event-types, 30 d daily (uncached)',
        () => ({ url: `/api/stats/event-types?granularity=day&from=${iso(mid - 30 * day + ++fresh)}&to=${iso(mid)}` }),
      ],
      [
        'GET /api/stats/event-types as_of (uncached)',
        () => ({
          url: `/api/stats/event-types?granularity=day&from=${iso(mid - 7 * day)}&to=${iso(mid + day)}&as_of=${iso(mid + ++fresh * 1000)}`,
        }),
      ],
      ['GET /api/stats/event-types (cached)', () => ({ url: `/api/stats/event-types?from=${iso(mid)}&to=${iso(mid + day)}` })],
      [
        'GET /api/stats/active-users, 7 d (uncached)',
        () => ({ url: `/api/stats/active-users?from=${iso(mid - 7 * day + ++fresh)}&to=${iso(mid)}` }),
      ],
      ['GET /api/stats/sessions, 1 d (uncached)', () => ({ url: `/api/stats/sessions?from=${iso(mid - day + ++fresh)}&to=${iso(mid)}` })],
      [
        'POST /api/stats/funnel, 3 steps, 1 d (uncached)',
        () => ({
          method: 'POST',
          url: '/api/stats/funnel',
          payload: { steps: ['t1', 't3', 't5'], window: '1d', from: iso(mid - day + ++fresh), to: iso(mid) },
        }),
      ],
    ];
    phase('timing the read endpoints');
    const latencies: [string, ReturnType<typeof summarize>][] = [];
    for (const [name, request] of endpoints) {
      const r = await timed(REQUESTS, 1, async () => {
        const res = await reads.inject(request());
        if (res.statusCode !== 200) throw new Error(`${name}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      });
      latencies.push([name, r]);
    }

    // 4. A stats endpoint under load over HTTP, cached and not, served by a process of its own.
    phase('loading the stats endpoint');
    server = spawn(process.execPath, ['--import', 'tsx', 'bench/read-server.ts'], {
      env: childEnv({ DATABASE_URL: pg.databaseUrl, NODE_ENV: 'test', REDIS_URL: undefined }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [announced] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
    const address = announced.trim();
    const load = async (path: (i: number) => string) => {
      let i = 0;
      const result = await autocannon({
        url: address,
        connections: 16,
        duration: 5,
        requests: [{ setupRequest: (req) => ({ ...req, path: path(i++) }) }],
      });
      return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
    };
    const cachedLoad = await load(() => `/api/stats/event-types?from=${iso(mid)}&to=${iso(mid + day)}`);
    const uncachedLoad = await load((i) => `/api/stats/event-types?from=${iso(mid + 1_000_000 + i)}&to=${iso(mid + 2 * day)}`);

    const line = (label: string, value: string) => console.log(`${label.padEnd(52)} ${value}`);
    console.log(`\nnpm run bench:store: ${fmt(TOTAL)} events over ${Math.round(span / day)} days, ${USERS} users, ${SESSIONS} sessions\n`);
    line('store (workflow statement, 16 at a time)', `${fmt(store.rate)} rows/s, p50 ${fmt(store.p50, 2)} ms, p99 ${fmt(store.p99, 2)} ms`);
    line(
      'project (processor statement, 16 at a time)',
      `${fmt(project.rate)} events/s, p50 ${fmt(project.p50, 2)} ms, p99 ${fmt(project.p99, 2)} ms`,
    );
    line('  its CPU in the client (the worker, per event)', `${fmt(projectCpuMs, 3)} ms`);
    line(
      'project again (already counted: no change)',
      `${fmt(again.rate)} events/s, p50 ${fmt(again.p50, 2)} ms, p99 ${fmt(again.p99, 2)} ms`,
    );
    line('bulk load (generate_series, 100,000 per statement)', `${fmt((TOTAL - STORE) / bulkSeconds)} rows/s`);
    line('projections:rebuild', `${fmt(rebuilt.seen / rebuildSeconds)} events/s (${fmt(rebuildSeconds, 1)} s)`);
    console.log(`\nread endpoints, ${REQUESTS} requests each, one at a time (ms):`);
    for (const [name, r] of latencies) line(`  ${name}`, `p50 ${fmt(r.p50, 2)}  p99 ${fmt(r.p99, 2)}`);
    console.log('\nGET /api/stats/event-types under load (16 connections, 5 s):');
    line('  cached', `${fmt(cachedLoad.rps)} req/s, p50 ${cachedLoad.p50} ms, p99 ${cachedLoad.p99} ms, non-2xx ${cachedLoad.non2xx}`);
    line(
      '  uncached (a new period each request)',
      `${fmt(uncachedLoad.rps)} req/s, p50 ${uncachedLoad.p50} ms, p99 ${uncachedLoad.p99} ms, non-2xx ${uncachedLoad.non2xx}`,
    );
  } finally {
    server?.kill('SIGTERM');
    await app?.close();
    await db.end();
    await pg.child.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
