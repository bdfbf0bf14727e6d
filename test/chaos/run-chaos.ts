import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { steadyLoad } from '../../bench/load.js';
import { deadLetterStreamName } from '../../src/nats/dead-letters.js';
import type { ChaosDeployment, Dependency } from './deployment.js';

// Faults under a steady load, then the promise checked: every event answered 202 is stored once,
// ends `completed`, and reached the webhook subscriber (recorded delivered exactly once).

export type Fault = 'kill -9 api' | 'kill -9 worker' | `restart ${Dependency}`;
export const ALL_FAULTS: Fault[] = ['kill -9 api', 'kill -9 worker', 'restart nats', 'restart postgres', 'restart temporal'];

export interface FaultResult {
  fault: Fault;
  sent: number;
  acked: number;
  completed: number;
  /** Answered 202 but not completed (or not stored) once the load drained. */
  lost: number;
  /** Stored or completed more than once, or recorded delivered more than once. */
  duplicated: number;
  /** Acked but never received by the subscriber. */
  undelivered: number;
  deadLettered: number;
  recoverMs: number;
  /** A few of the lost events as PostgreSQL has them, to start the investigation from. */
  lostSample: { event_id: string; status: string | null; last_error: string | null }[];
}

const EVENT_TYPE = 'chaos';

async function inject(d: ChaosDeployment, fault: Fault): Promise<void> {
  if (fault === 'kill -9 api') return d.kill('api');
  if (fault === 'kill -9 worker') return d.kill('worker');
  return d.restart(fault.slice('restart '.length) as Dependency);
}

export async function runChaos(d: ChaosDeployment, opts: { rate: number; seconds: number; faults: Fault[]; drainTimeoutMs?: number }): Promise<FaultResult[]> {
  const received = new Map<string, number>();
  const receiver = createServer((req, res) => {
    const id = String(req.headers['x-event-id']);
    req.resume().on('end', () => {
      received.set(id, (received.get(id) ?? 0) + 1);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const sub = await fetch(`${d.apiUrl}/api/subscriptions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, subjects: [`events.backend.service.${EVENT_TYPE}`] }),
  });
  if (sub.status !== 201) throw new Error(`subscription: HTTP ${sub.status}`);
  const db = new pg.Pool({ connectionString: d.databaseUrl, max: 2 });
  // PostgreSQL's restart ends idle connections too; the pool replaces them.
  db.on('error', () => undefined);
  const results: FaultResult[] = [];
  try {
    for (const fault of opts.faults) {
      const deadBefore = await deadLetters(d.natsUrl);
      const acked: string[] = [];
      let sent = 0;
      let recoverMs = NaN;
      const load = steadyLoad(opts.rate, opts.seconds, async (i) => {
        sent++;
        const res = await fetch(`${d.apiUrl}/api/events/create`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ event_type: EVENT_TYPE, data: { fault, i } }),
          signal: AbortSignal.timeout(10_000),
        }).catch(() => undefined);
        if (res?.status === 202) acked.push(((await res.json()) as { event_id: string }).event_id);
        else await res?.arrayBuffer();
        return 0;
      });
      await sleep((opts.seconds * 1000) / 4);
      const began = Date.now();
      await inject(d, fault);
      await d.waitHealthy();
      recoverMs = Date.now() - began;
      await load;
      await drained(db, acked, opts.drainTimeoutMs ?? 180_000);
      results.push({ fault, sent, acked: acked.length, recoverMs, ...(await check(db, acked, received)), deadLettered: (await deadLetters(d.natsUrl)) - deadBefore });
    }
  } finally {
    receiver.close();
    await db.end();
  }
  return results;
}

async function drained(db: pg.Pool, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await db.query(`SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1::uuid[]) AND status = 'completed'`, [ids]).catch(() => undefined);
    if (r && r.rows[0].n >= ids.length) return;
    await sleep(500);
  }
}

async function check(db: pg.Pool, ids: string[], received: Map<string, number>) {
  const { rows } = await db.query(
    `SELECT e.event_id, e.status, e.last_error,
            (SELECT count(*)::int FROM event_status_history h WHERE h.event_id = e.event_id AND h.status = 'completed') AS completions,
            (SELECT count(*)::int FROM webhook_deliveries w WHERE w.event_id = e.event_id AND w.status = 'delivered') AS deliveries
       FROM events e WHERE e.event_id = ANY($1::uuid[])`,
    [ids],
  );
  const completed = rows.filter((r) => r.status === 'completed').length;
  const duplicated = rows.filter((r) => r.completions > 1 || r.deliveries > 1).length;
  const undelivered = ids.filter((id) => !received.has(id)).length;
  const byId = new Map(rows.map((r) => [r.event_id as string, r]));
  const lostSample = ids.filter((id) => byId.get(id)?.status !== 'completed').slice(0, 5)
    .map((id) => ({ event_id: id, status: byId.get(id)?.status ?? null, last_error: byId.get(id)?.last_error ?? null }));
  return { completed, lost: ids.length - completed, duplicated, undelivered, lostSample };
}

async function deadLetters(natsUrl: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(deadLetterStreamName('EVENTS')).catch(() => undefined))?.state.messages ?? 0;
  } finally {
    await nc.close();
  }
}
