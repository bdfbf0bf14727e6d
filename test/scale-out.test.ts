import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, post, stack, testPool, testTemporal } from './helpers.js';
import { type ExtraServices, startExtraServices } from './extra-services.js';
import { startReceiver } from './webhook-receiver.js';

// Scale-out as a team would run it: a second API process and a second worker (with its own
// bridge on the same durable consumer) beside the test deployment's own. Every event is stored
// once, processed once, and delivered to the subscriber once, whichever process took it.
// At least EVENTS events, in waves of WAVE.
const EVENTS = 120;
const WAVE = 40;
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
      const apis = [stack().apiUrl, second.apiUrl];
      const send = (id: string, api: string) =>
        fetch(`${api}/api/events/create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ event_id: id, event_type: eventType, data: {} }),
        }).then((r) => r.status);
      const completed = async (wave: string[]) => {
        const { rows } = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1) AND status = 'completed'",
          [wave],
        );
        return rows[0]!.n === wave.length ? true : undefined;
      };
      // Which worker ran each workflow: the identity (pid@host) on its first completed workflow task.
      const ranBy = (id: string) =>
        temporal.workflow
          .getHandle(id)
          .fetchHistory()
          .then((h) => h.events?.find((e) => e.workflowTaskCompletedEventAttributes))
          .then((e) => e?.workflowTaskCompletedEventAttributes?.identity?.split('@')[0]);

      // Which bridge a message goes to is up to the stream's pull queue: one bridge can take a
      // whole wave while the other's pull waits behind it. So waves are sent until both workers
      // have run some events (a worker that never takes any still fails the test).
      const ids: string[] = [];
      let onSecond = 0;
      for (let waves = 0; ids.length < EVENTS || onSecond === 0 || onSecond === ids.length; waves++) {
        expect(waves, 'waves of events sent before both workers ran some').toBeLessThan(8);
        const wave = Array.from({ length: WAVE }, () => randomUUID());
        const statuses = await Promise.all(
          wave.flatMap((id, i) => [send(id, apis[i % 2]!), ...(i % 2 ? [send(id, apis[(i + 1) % 2]!)] : [])]),
        );
        expect(statuses.every((st) => st === 202)).toBe(true);
        await eventually(() => completed(wave), 120_000, `all ${WAVE} events of a wave to complete`);
        const pids = await Promise.all(wave.map(ranBy));
        onSecond += pids.filter((pid) => pid === String(second.workerPid)).length;
        ids.push(...wave);
      }

      const rows = await pool.query<{ n: number; completed: number }>(
        `SELECT (SELECT count(*)::int FROM events WHERE event_id = ANY($1)) AS n,
                (SELECT count(*)::int FROM event_status_history WHERE event_id = ANY($1) AND status = 'completed') AS completed`,
        [ids],
      );
      expect(rows.rows[0]).toEqual({ n: ids.length, completed: ids.length });
      await eventually(async () => (receiver.received.length >= ids.length ? true : undefined), 30_000, 'every delivery');
      const deliveries = new Map<string, number>();
      for (const r of receiver.received)
        deliveries.set(String(r.headers['x-event-id']), (deliveries.get(String(r.headers['x-event-id'])) ?? 0) + 1);
      expect([...deliveries.keys()].sort()).toEqual([...ids].sort());
      expect([...deliveries.values()].every((n) => n === 1)).toBe(true);

      // One run per event (visibility is eventually consistent: one run too many would never let this pass).
      await eventually(
        async () => {
          const { count } = await temporal.workflow.count(`WorkflowType = 'eventWorkflow' AND EventType = '${eventType}'`);
          return count === ids.length ? true : undefined;
        },
        30_000,
        `${ids.length} workflow runs`,
      );
    } finally {
      await fetch(`${stack().apiUrl}/api/subscriptions/${sub.body.id}`, { method: 'DELETE' });
      await receiver.close();
      await pool.end();
      await temporal.connection.close();
    }
  });
});
