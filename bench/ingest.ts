import { rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { fmt, summarize } from './stats.js';

// `npm run bench:ingest [-- --duration 10 --connections 64 --batch-connections 16 --bridge off --only single,batch,segment --rounds 1]`:
// brings up a throwaway deployment and loads the ingestion routes with autocannon from this
// process (same machine): single backend events, frontend batches, then Segment batches
// (`/v1/batch`, the same events as Segment calls, each with its own messageId). An event counts
// as accepted when its request got 202 (200 for Segment), i.e. once JetStream acknowledged it;
// the stream's message count is checked against that. With `--bridge off` the worker does not start workflows, which
// shows what ingestion costs on its own. `--rounds N` runs the chosen scenarios N times in turn
// (batch, Segment, batch, Segment …), so that two routes compared are measured alternately.

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    'batch-connections': { type: 'string', default: '16' },
    'batch-size': { type: 'string', default: '100' },
    bridge: { type: 'string', default: 'on' },
    only: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const chosen = (name: string) => args.only === undefined || args.only.split(',').includes(name);
const BATCH = Number(args['batch-size']);
const BRIDGE = args.bridge !== 'off';
const DATA_DIR = resolve('.data/bench-ingest');
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

const backendEvent = JSON.stringify({
  event_type: 'order_paid',
  service: 'billing',
  user_id: 'u-42',
  data: { order_id: 'o-1001', amount: 42.5, currency: 'EUR' },
});
const frontendEvent = (i: number) => ({
  event_type: i % 2 ? 'button_click' : 'page_view',
  category: 'user_interaction',
  user_id: `u-${i % 50}`,
  session_id: 's-bench',
  data: { element: `#buy-${i}`, position: i },
  metadata: { page_url: 'https://shop.example/p/42', sdk: { name: 'event-sdk-web', version: '1.0.0' } },
  timestamp: new Date().toISOString(),
  sent_at: new Date().toISOString(),
});
const frontendBatch = JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => frontendEvent(i)) });
// What analytics-node sends for the same events. autocannon replaces `[<id>]` with a new id per
// request, so that every message has its own messageId, as a real client's do (a repeated one
// would be a duplicate, answered 200 and not stored again).
const segmentCall = (i: number) => ({
  type: 'track',
  event: i % 2 ? 'Button Clicked' : 'Page Viewed',
  userId: `u-${i % 50}`,
  messageId: `bench-[<id>]-${i}`,
  properties: { element: `#buy-${i}`, position: i },
  context: {
    library: { name: '@segment/analytics-node', version: '3.1.0' },
    page: { url: 'https://shop.example/p/42' },
    sessionId: 's-bench',
  },
  timestamp: new Date().toISOString(),
});
const segmentBatch = JSON.stringify({ batch: Array.from({ length: BATCH }, (_, i) => segmentCall(i)), sentAt: new Date().toISOString() });

interface Scenario {
  name: string;
  path: string;
  body: string;
  eventsPerRequest: number;
  connections: number;
  /** The answer that means "stored": 202 for our routes, 200 for Segment's. */
  okStatus?: number;
  /** Replaces `[<id>]` in the body with a new id per request (autocannon's idReplacement). */
  perRequest?: boolean;
}

async function run(apiUrl: string, s: Scenario, seconds: number) {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const ok = s.okStatus ?? 202;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url: `${apiUrl}${s.path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': UA },
        body: s.body,
        ...(s.perRequest && { idReplacement: true }),
        connections: s.connections,
        duration: seconds,
      },
      (err, res) => (err ? fail(err) : done(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === ok) latencies.push(ms);
    });
  });
  return { result, latencies, statuses };
}

async function measure(apiUrl: string, jsm: JetStreamManager, s: Scenario) {
  await run(apiUrl, { ...s, connections: Math.min(s.connections, 8) }, 2); // warm-up: JIT, pools, caches
  const before = (await jsm.streams.info('EVENTS')).state.messages;
  const { result, latencies, statuses } = await run(apiUrl, s, DURATION);
  const stored = (await jsm.streams.info('EVENTS')).state.messages - before;
  const ok = s.okStatus ?? 202;
  const accepted = (statuses.get(ok) ?? 0) * s.eventsPerRequest;
  const lat = summarize(latencies);
  const others = [...statuses].filter(([code]) => code !== ok).map(([code, n]) => `${n}×${code}`);
  console.log(
    `${s.name.padEnd(34)} ${fmt(accepted / result.duration).padStart(7)} events/s  ` +
      `ack p50 ${fmt(lat.p50, 1)} ms, p95 ${fmt(lat.p95, 1)} ms, p99 ${fmt(lat.p99, 1)} ms  ` +
      `(${fmt(statuses.get(ok) ?? 0)} requests of ${s.eventsPerRequest}, ${s.connections} connections${others.length ? `; other answers: ${others.join(' ')}` : ''}` +
      `${result.errors ? `; ${result.errors} errors` : ''})`,
  );
  // Every acked event must be in the stream; a few more may be, from requests cut off at the end.
  if (stored < accepted) console.log(`  !! the stream gained ${fmt(stored)} messages for ${fmt(accepted)} acked events`);
}

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const log = createLogger('bench', 'warn');
  // A fresh deployment each time: a backlog left by an earlier run would compete for the CPU.
  await rm(DATA_DIR, { recursive: true, force: true });
  console.log(`starting a throwaway deployment (data in ${DATA_DIR}, bridge ${BRIDGE ? 'on' : 'off'}) ...`);
  const d = await startThrowawayDeployment({
    dataDir: DATA_DIR,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    // One client hammering from one address must not be rate limited: this measures capacity.
    // Nor may the stream's limit (1,000,000 messages, oldest dropped) be reached: a few rounds at
    // these rates would cross it and the oldest messages would go before the bridge took them.
    env: { LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '1000000000', BRIDGE_ENABLED: String(BRIDGE), STREAM_MAX_MESSAGES: '50000000' },
    log,
  });
  const nc = await connect({ servers: d.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    console.log(`${DURATION} s per scenario on ${cpus().length} cores (load average before: ${load}); load generator in this process;`);
    console.log(
      `ack = the HTTP answer, sent once JetStream stored the events; bridge ${BRIDGE ? 'on: workflows are started and run meanwhile' : 'off: ingestion alone'}\n`,
    );
    for (let round = 1; round <= ROUNDS; round++) {
      if (ROUNDS > 1) console.log(`round ${round} of ${ROUNDS}`);
      if (chosen('single'))
        await measure(d.apiUrl, jsm, {
          name: 'single  POST /api/events/create',
          path: '/api/events/create',
          body: backendEvent,
          eventsPerRequest: 1,
          connections: Number(args.connections),
        });
      if (chosen('batch'))
        await measure(d.apiUrl, jsm, {
          name: `batched POST /api/frontend/events ×${BATCH}`,
          path: '/api/frontend/events',
          body: frontendBatch,
          eventsPerRequest: BATCH,
          connections: Number(args['batch-connections']),
        });
      // Segment's batch beside ours (issue 21 asks for at least 0.9 × it): the same events, the
      // same ingestion, Segment's mapping and a v5 id per message on top.
      if (chosen('segment'))
        await measure(d.apiUrl, jsm, {
          name: `Segment POST /v1/batch ×${BATCH}`,
          path: '/v1/batch',
          body: segmentBatch,
          eventsPerRequest: BATCH,
          connections: Number(args['batch-connections']),
          okStatus: 200,
          perRequest: true,
        });
    }
  } finally {
    await nc.close();
    await d.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
