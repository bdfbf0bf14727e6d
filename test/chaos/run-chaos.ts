import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { steadyLoad } from '../../bench/load.js';
import { deadLetterStreamName } from '../../src/nats/dead-letters.js';

// Faults under a steady load, then the promise checked: every event answered 202 is stored once,
// ends `completed`, and reached the webhook subscriber (recorded delivered exactly once).

/** What a chaos run needs of a deployment, single-node or cluster. */
export interface ChaosTarget {
  /** The load goes round-robin to these, as a load balancer sends it. */
  apiUrls: string[];
  databaseUrl: string;
  natsUrl: string;
  waitHealthy(timeoutMs?: number): Promise<void>;
}

/** A fault by name; `inject` resolves once the broken part has been started again. */
export interface Fault {
  name: string;
  inject(): Promise<void>;
}

export interface FaultResult {
  fault: string;
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
  /** From the fault until every API and worker is healthy again (after the restart, if any). */
  recoverMs: number;
  /** The longest stretch without a 202, and without an event completing: what users felt. */
  ingestStallMs: number;
  processingStallMs: number;
  /** A few of the lost events as PostgreSQL has them, to start the investigation from. */
  lostSample: { event_id: string; status: string | null; last_error: string | null }[];
}

const EVENT_TYPE = 'chaos';

/**
 * Posts one event as a load balancer would: to the next API in turn, and on a connection error
 * (an API just killed) to the one after it. The client supplies the event id, so a retry of a
 * request that was in fact accepted is stored once (the stream's duplicate window).
 */
async function postThroughBalancer(apiUrls: string[], i: number, body: object): Promise<Response | undefined> {
  for (let attempt = 0; attempt < apiUrls.length * 2; attempt++) {
    const url = apiUrls[(i + attempt) % apiUrls.length]!;
    try {
      return await fetch(`${url}/api/events/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      // Connection refused or reset: the next API.
    }
  }
  return undefined;
}

export async function runChaos(
  d: ChaosTarget,
  opts: { rate: number; seconds: number; faults: Fault[]; drainTimeoutMs?: number; progress?: (line: string) => void },
): Promise<FaultResult[]> {
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
  const sub = await fetch(`${d.apiUrls[0]}/api/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
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
      const ackedAt: number[] = [];
      let sent = 0;
      const loadBegan = Date.now();
      const load = steadyLoad(opts.rate, opts.seconds, async (i) => {
        sent++;
        const res = await postThroughBalancer(d.apiUrls, i, {
          event_id: randomUUID(),
          event_type: EVENT_TYPE,
          data: { fault: fault.name, i },
        });
        if (res?.status === 202) {
          acked.push(((await res.json()) as { event_id: string }).event_id);
          ackedAt.push(Date.now());
        } else await res?.arrayBuffer().catch(() => undefined);
        return 0;
      });
      await sleep((opts.seconds * 1000) / 4);
      const began = Date.now();
      opts.progress?.(`${fault.name} …`);
      await fault.inject();
      await d.waitHealthy();
      const recoverMs = Date.now() - began;
      await load;
      const loadEnded = Date.now();
      await drained(db, acked, opts.drainTimeoutMs ?? 180_000);
      results.push({
        fault: fault.name,
        sent,
        acked: acked.length,
        recoverMs,
        ingestStallMs: longestGap([loadBegan, ...ackedAt, loadEnded]),
        processingStallMs: await processingStall(db, acked, loadBegan, loadEnded),
        ...(await check(db, acked, received)),
        deadLettered: (await deadLetters(d.natsUrl)) - deadBefore,
      });
      const r = results.at(-1)!;
      opts.progress?.(
        `${fault.name}: ${r.acked} acked, ${r.completed} completed, ${r.lost} lost, ${r.duplicated} duplicated, recovered in ${(r.recoverMs / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    receiver.close();
    await db.end();
  }
  return results;
}

function longestGap(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.slice(1).reduce((max, t, i) => Math.max(max, t - sorted[i]!), 0);
}

/** The longest stretch of the load's window in which none of its events completed. */
async function processingStall(db: pg.Pool, ids: string[], from: number, to: number): Promise<number> {
  const { rows } = await db.query<{ at: Date }>(
    `SELECT at FROM event_status_history WHERE event_id = ANY($1::uuid[]) AND status = 'completed'`,
    [ids],
  );
  const inWindow = rows.map((r) => r.at.getTime()).filter((t) => t >= from && t <= to);
  return longestGap([from, ...inWindow, to]);
}

/** Every event completed, and none of its deliveries still waiting for a subscriber (a fault that pauses one). */
async function drained(db: pg.Pool, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await db
      .query(
        `SELECT (SELECT count(*)::int FROM events WHERE event_id = ANY($1::uuid[]) AND status = 'completed') AS completed,
                (SELECT count(*)::int FROM webhook_deliveries WHERE event_id = ANY($1::uuid[]) AND status = 'waiting') AS waiting`,
        [ids],
      )
      .catch(() => undefined);
    if (r && r.rows[0].completed >= ids.length && r.rows[0].waiting === 0) return;
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
  const lostSample = ids
    .filter((id) => byId.get(id)?.status !== 'completed')
    .slice(0, 5)
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
