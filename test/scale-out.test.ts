import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, post, stack, testPool, testTemporal } from './helpers.js';
import { type ExtraServices, startExtraServices } from './extra-services.js';
import { startReceiver } from './webhook-receiver.js';

// Scale-out as a team would run it: a second API process and a second worker (with its own
// bridge on the same durable consumer) beside the test deployment's own. Every event is stored
// once, processed once, and delivered to the subscriber once, whichever process took it.
const EVENTS = 120;
let second: ExtraServices;

beforeAll(async () => {
  second = await startExtraServices({}, 'the second API and worker');
}, 150_000);

afterAll(async () => {
  await second?.stop();
});

describe('two API processes and two workers', () => {
  it('store, process and deliver every event once, sharing the work', async () => {
    const receiver = await startReceiver();
    const eventType = `scale_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const sub = await post('/api/subscriptions', { url: receiver.url, subjects: [`events.backend.service.${eventType}`] });
    expect(sub.status).toBe(201);
    const pool = testPool();
    const temporal = await testTemporal();
    try {
      // Alternate between the two APIs, as a load balancer would; half the ids are sent twice
      // (to the other API), as a client retrying after a lost answer would.
      const ids = Array.from({ length: EVENTS }, () => randomUUID());
      const apis = [stack().apiUrl, second.apiUrl];
      const send = (id: string, api: string) =>
        fetch(`${api}/api/events/create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ event_id: id, event_type: eventType, data: {} }),
        }).then((r) => r.status);
      const statuses = await Promise.all(
        ids.flatMap((id, i) => [send(id, apis[i % 2]!), ...(i % 2 ? [send(id, apis[(i + 1) % 2]!)] : [])]),
      );
      expect(statuses.every((st) => st === 202)).toBe(true);

      await eventually(
        async () => {
          const { rows } = await pool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1) AND status = 'completed'",
            [ids],
          );
          return rows[0]!.n === EVENTS ? true : undefined;
        },
        120_000,
        `all ${EVENTS} events to complete`,
      );
      const rows = await pool.query<{ n: number; completed: number }>(
        `SELECT (SELECT count(*)::int FROM events WHERE event_id = ANY($1)) AS n,
                (SELECT count(*)::int FROM event_status_history WHERE event_id = ANY($1) AND status = 'completed') AS completed`,
        [ids],
      );
      expect(rows.rows[0]).toEqual({ n: EVENTS, completed: EVENTS });
      await eventually(async () => (receiver.received.length >= EVENTS ? true : undefined), 30_000, 'every delivery');
      const deliveries = new Map<string, number>();
      for (const r of receiver.received)
        deliveries.set(String(r.headers['x-event-id']), (deliveries.get(String(r.headers['x-event-id'])) ?? 0) + 1);
      expect([...deliveries.keys()].sort()).toEqual([...ids].sort());
      expect([...deliveries.values()].every((n) => n === 1)).toBe(true);

      // Which worker ran each workflow: the identity (pid@host) on its first completed workflow task.
      const ranBy = await Promise.all(
        ids.map(async (id) => {
          const history = await temporal.workflow.getHandle(id).fetchHistory();
          const completed = history.events?.find((e) => e.workflowTaskCompletedEventAttributes);
          return completed?.workflowTaskCompletedEventAttributes?.identity?.split('@')[0];
        }),
      );
      // One run per event (visibility is eventually consistent: a 121st run would never let this pass).
      await eventually(
        async () => {
          const { count } = await temporal.workflow.count(`WorkflowType = 'eventWorkflow' AND EventType = '${eventType}'`);
          return count === EVENTS ? true : undefined;
        },
        30_000,
        `${EVENTS} workflow runs`,
      );
      const onSecond = ranBy.filter((pid) => pid === String(second.workerPid)).length;
      expect(onSecond).toBeGreaterThan(0);
      expect(onSecond).toBeLessThan(EVENTS);
    } finally {
      await fetch(`${stack().apiUrl}/api/subscriptions/${sub.body.id}`, { method: 'DELETE' });
      await receiver.close();
      await pool.end();
      await temporal.connection.close();
    }
  });
});
