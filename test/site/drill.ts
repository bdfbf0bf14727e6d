import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { waitUntil } from '../../src/dev/ports.js';
import type { TwoSites } from '../../src/dev/site/two-sites.js';
import type { Logger } from '../../src/logger.js';
import { drained, mirroredIds, primaryRecord } from './audit.js';

// The second site's drill: a steady load on the primary, the primary lost without warning, the
// standby promoted, and then every event the primary acknowledged accounted for, across both
// sites' stores, and every webhook delivery counted.

export interface DrillResult {
  acked: number;
  /** Acknowledged by the primary and never processed anywhere: the recovery point. */
  lost: string[];
  /** How much acknowledged time the loss covers: from the first lost event's answer to the loss. */
  lostWindowMs: number;
  /** Acknowledged, never processed anywhere, and in the mirror (must be none). */
  lostButMirrored: string[];
  mirrored: number;
  processedAtPrimary: number;
  processedAtStandby: number;
  /** Completed at both sites: the standby's store had not seen the primary settle them. */
  processedAtBoth: string[];
  /** Settled at the standby more than once, or stored twice there. */
  duplicatesAtStandby: string[];
  /** Events delivered to the subscriber by both sites, and those of them not processed at both sites. */
  deliveredTwice: string[];
  /** Events the subscriber answered 2xx more than once (an attempt cut off by a timeout counts). */
  receivedTwice: number;
  deliveredTwiceUnexplained: string[];
  /** Loss to promoted (API and bridge serving), then to the mirror's backlog processed. */
  promotionMs: number;
  recoveryMs: number;
  drainMs: number;
  figures: Record<string, unknown>;
  afterPromotion: number;
}

type Receiver = { url: string; received: { headers: Record<string, unknown>; answered: number }[] };

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function runSiteDrill(opts: {
  sites: TwoSites;
  dataDir: string;
  receiver: Receiver;
  loadMs: number;
  /** Events per second the clients send, together. */
  rate: number;
  concurrency: number;
  log: Logger;
}): Promise<DrillResult> {
  const { sites, receiver } = opts;
  const eventType = `site_drill_${Date.now()}`;
  const sub = await post(`${sites.primary.apiUrl}/api/subscriptions`, {
    url: receiver.url,
    subjects: [`events.backend.service.${eventType}`],
  });
  if (sub.status !== 201) throw new Error(`subscription not created: ${JSON.stringify(sub.body)}`);

  // The load: each client sends one event at a time with its own id; a 202 is an acknowledgement.
  const acked = new Map<string, number>();
  // First one event through site 1, so that its worker is processing before the load (its first
  // workflow tasks are slow on a loaded machine) and the drill sees events it had finished.
  const first = await post(`${sites.primary.apiUrl}/api/events/create`, { event_type: eventType, data: {} });
  acked.set(first.body.event_id as string, Date.now());
  await waitUntil(
    'the first event to complete at site 1',
    async () => {
      const res = await fetch(`${sites.primary.apiUrl}/api/events/${first.body.event_id as string}`);
      return res.ok && ((await res.json()) as { status: string }).status === 'completed';
    },
    120_000,
    undefined,
    250,
  );
  const unanswered: string[] = [];
  let lost = false;
  const pause = (opts.concurrency * 1000) / opts.rate;
  const client = async () => {
    while (!lost) {
      const next = Date.now() + pause;
      const id = randomUUID();
      try {
        const res = await post(`${sites.primary.apiUrl}/api/events/create`, {
          event_id: id,
          event_type: eventType,
          data: { n: acked.size },
        });
        if (res.status === 202) acked.set(id, Date.now());
      } catch {
        // No answer: the client does not know; it sends the same event to the other site later.
        unanswered.push(id);
        return;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  };
  const clients = Array.from({ length: opts.concurrency }, client);
  await new Promise((r) => setTimeout(r, opts.loadMs));
  lost = true;
  const lostAt = Date.now();
  await sites.losePrimary();
  await Promise.all(clients);

  const promotion = await sites.promote(opts.log);
  const promotedAt = Date.now();
  // Clients fail over (DNS, the load balancer) and send again what got no answer, same ids.
  const resent: string[] = [];
  for (const id of unanswered)
    if ((await post(`${sites.standby.apiUrl}/api/events/create`, { event_id: id, event_type: eventType, data: {} })).status === 202)
      resent.push(id);
  const after = await Promise.all(
    Array.from(
      { length: 5 },
      async () => (await post(`${sites.standby.apiUrl}/api/events/create`, { event_type: eventType, data: {} })).body.event_id as string,
    ),
  );

  const standby = new pg.Pool({ connectionString: sites.standby.databaseUrl, max: 2 });
  try {
    const mirrored = await mirroredIds(sites);
    // Settled at site 2 (its own runs, or site 1's replicated): what was mirrored, re-sent or new.
    await drained(sites, standby, [...[...acked.keys()].filter((id) => mirrored.has(id)), ...resent, ...after]);
    const drainedAt = Date.now();
    const primary = await primaryRecord(opts.dataDir, opts.log);
    const atPrimary = primary.completed;
    const runs = await standby.query<{ event_id: string; n: number }>(
      "SELECT event_id::text, count(*)::int AS n FROM event_status_history WHERE status = 'completed' GROUP BY event_id",
    );
    const atStandby = new Set(runs.rows.map((r) => r.event_id));
    const stored = await standby.query<{ event_id: string }>(
      'SELECT event_id::text FROM events GROUP BY event_id HAVING count(*) > 1 UNION SELECT event_id::text FROM event_status_history WHERE status = $1 GROUP BY event_id HAVING count(*) > 1',
      ['completed'],
    );
    const lostIds = [...acked.keys()].filter((id) => !atPrimary.has(id) && !atStandby.has(id));
    const processedAtBoth = [...atStandby].filter((id) => atPrimary.has(id));
    // Deliveries the promoted site made itself (rows written after the store left the link).
    const deliveredHere = await standby.query<{ event_id: string }>(
      "SELECT event_id::text FROM webhook_deliveries WHERE status = 'delivered' AND delivered_at >= $1",
      [new Date(lostAt)],
    );
    const deliveredTwice = deliveredHere.rows.map((r) => r.event_id).filter((id) => primary.delivered.has(id));
    const counts = new Map<string, number>();
    for (const r of receiver.received)
      if (r.answered < 300) counts.set(String(r.headers['x-event-id']), (counts.get(String(r.headers['x-event-id'])) ?? 0) + 1);
    return {
      acked: acked.size,
      lost: lostIds,
      lostWindowMs: lostIds.length ? lostAt - Math.min(...lostIds.map((id) => acked.get(id)!)) : 0,
      lostButMirrored: lostIds.filter((id) => mirrored.has(id)),
      mirrored: mirrored.size,
      processedAtPrimary: atPrimary.size,
      processedAtStandby: atStandby.size,
      processedAtBoth,
      duplicatesAtStandby: stored.rows.map((r) => r.event_id),
      deliveredTwice,
      receivedTwice: [...counts].filter(([, n]) => n > 1).length,
      deliveredTwiceUnexplained: deliveredTwice.filter((id) => !processedAtBoth.includes(id)),
      promotionMs: promotion.totalMs,
      recoveryMs: promotedAt - lostAt,
      drainMs: drainedAt - promotedAt,
      figures: { ...promotion },
      afterPromotion: (
        await standby.query("SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1::uuid[]) AND status = 'completed'", [after])
      ).rows[0].n,
    };
  } finally {
    await standby.end();
  }
}

/**
 * The services' settings in the drill: the default retry policy (an event is not failed by a few
 * slow answers on a loaded machine), and a webhook timeout long enough that a delivery is not
 * retried (and received twice) only because the machine was slow to answer.
 */
export const DRILL_ENV = { NODE_ENV: 'test', LOG_LEVEL: 'fatal', WEBHOOK_TIMEOUT: '60s' };
