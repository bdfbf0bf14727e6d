import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { storableText } from '../../events/envelope.js';
import { createDeliveryLog } from '../../store/delivery-log.js';
import type { DeliveryStatus } from '../../store/subscriptions-repo.js';
import { createSubscriptionsRepo } from '../../store/subscriptions-repo.js';
import { wakeSubscriber } from '../../temporal/subscriber-workflow.js';
import type { AppDeps } from '../app-deps.js';
import { notFound } from '../errors.js';

// A subscription's delivery log, and re-sending: one delivery, or a time range as a replay job.

const STATUSES = ['pending', 'delivered', 'failed', 'waiting', 'expired', 'skipped'] as const satisfies readonly DeliveryStatus[];
const idParams = z.object({ id: z.uuid() });
const time = z.iso.datetime({ offset: true });
const statusList = z
  .string()
  .transform((s) => s.split(','))
  .pipe(z.array(z.enum(STATUSES)).min(1));
const logQuery = z.strictObject({
  status: statusList.optional(),
  since: time.optional(),
  until: time.optional(),
  page_size: z.coerce.number().int().min(1).max(1000).default(100),
  page_token: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
});
const replayBody = z.strictObject({
  since: time,
  until: time,
  /** Only deliveries with these statuses (e.g. failed and expired); all of the range without it. */
  statuses: z.array(z.enum(STATUSES)).min(1).optional(),
  reason: storableText.max(500).optional(),
});

const encodeToken = (at: string, id: string) => Buffer.from(`${at}|${id}`).toString('base64url');
function decodeToken(token: string): { at: string; id: string } {
  const [at = '', id = ''] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  return { at, id };
}

export const subscriberDeliveryRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { pool, config, temporal }) => {
  const subscriptions = createSubscriptionsRepo(pool);
  const log = createDeliveryLog(pool);
  const admin = { scope: 'events:admin' } as const;
  const wake = (id: string) =>
    wakeSubscriber(temporal, id, {
      taskQueue: config.temporal.taskQueue,
      probe: { initialMs: config.subscribers.probeInitialMs, maxMs: config.subscribers.probeMaxMs },
    });
  const mustExist = async (id: string) => {
    if (!(await subscriptions.get(id))) throw notFound(`subscription ${id}`);
  };

  app.get('/subscriptions/:id/deliveries', { config: admin, schema: { params: idParams, querystring: logQuery } }, async (req) => {
    await mustExist(req.params.id);
    const { status, since, until, page_size, page_token } = req.query;
    const items = await log.list(req.params.id, {
      ...(status && { status }),
      ...(since && { since }),
      ...(until && { until }),
      limit: page_size,
      ...(page_token && { after: decodeToken(page_token) }),
    });
    const last = items.length === page_size ? items.at(-1) : undefined;
    return { items, next_page_token: last ? encodeToken(last.event_received_at, last.event_id) : null };
  });

  app.post(
    '/subscriptions/:id/deliveries/:event_id/resend',
    { config: admin, schema: { params: idParams.extend({ event_id: z.uuid() }) } },
    async (req, reply) => {
      if (!(await log.resend(req.params.id, req.params.event_id))) throw notFound(`delivery of ${req.params.event_id} to ${req.params.id}`);
      await wake(req.params.id);
      return reply.code(202).send({ subscription_id: req.params.id, event_id: req.params.event_id, status: 'waiting' });
    },
  );

  app.post('/subscriptions/:id/replays', { config: admin, schema: { params: idParams, body: replayBody } }, async (req, reply) => {
    await mustExist(req.params.id);
    const { since, until, statuses, reason } = req.body;
    const replay = await log.replay(req.params.id, {
      since,
      until,
      ...(statuses && { statuses }),
      ...(reason && { reason }),
      ...(req.tokenSubject && { actor: req.tokenSubject }),
    });
    await wake(req.params.id);
    const follow = `/api/subscriptions/${req.params.id}/replays/${replay.replay_id}`;
    return reply.code(202).send({ ...replay, follow });
  });

  app.get(
    '/subscriptions/:id/replays/:replay_id',
    { config: admin, schema: { params: idParams.extend({ replay_id: z.uuid() }) } },
    async (req) => {
      const progress = await log.replayProgress(req.params.id, req.params.replay_id);
      if (!progress) throw notFound(`replay ${req.params.replay_id}`);
      return progress;
    },
  );
};
