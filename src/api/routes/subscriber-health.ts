import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { secretBoxFor } from '../../crypto/secret-box.js';
import { storableText } from '../../events/envelope.js';
import { createDeliveryQueue } from '../../store/delivery-queue.js';
import type { SubscriptionState } from '../../store/subscription-settings.js';
import { createSubscriptionsRepo } from '../../store/subscriptions-repo.js';
import { wakeSubscriber } from '../../temporal/subscriber-workflow.js';
import { subscriberWorkflowId } from '../../workflows/subscriber-definitions.js';
import type { AppDeps } from '../app-deps.js';
import { notFound } from '../errors.js';
import { view } from './subscriptions.js';

// A subscriber's health, and the operator's pause, resume and disable, each with a reason and
// the actor (the token subject), as the event operator actions keep them.

const idParams = z.object({ id: z.uuid() });
const reasonBody = z.strictObject({ reason: storableText.max(500).optional() }).nullish();

const ACTIONS: Record<'pause' | 'resume' | 'disable', SubscriptionState> = { pause: 'paused', resume: 'active', disable: 'disabled' };

export const subscriberHealthRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { pool, config, temporal }) => {
  const subscriptions = createSubscriptionsRepo(pool, secretBoxFor(config));
  const queue = createDeliveryQueue(pool);
  const admin = { scope: 'events:admin' } as const;
  const wake = (id: string) =>
    wakeSubscriber(temporal, id, {
      taskQueue: config.temporal.taskQueue,
      probe: { initialMs: config.subscribers.probeInitialMs, maxMs: config.subscribers.probeMaxMs },
    });
  const temporalUi = (id: string) =>
    `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${subscriberWorkflowId(id)}`;

  app.get('/subscriptions/:id', { config: admin, schema: { params: idParams } }, async (req) => {
    const s = await subscriptions.get(req.params.id);
    if (!s) throw notFound(`subscription ${req.params.id}`);
    const [health, waiting] = await Promise.all([queue.health(s.id), queue.waitingCount(s.id)]);
    return { ...view(s), health, waiting, temporal_ui: temporalUi(s.id) };
  });

  for (const [action, state] of Object.entries(ACTIONS)) {
    app.post(`/subscriptions/:id/${action}`, { config: admin, schema: { params: idParams, body: reasonBody } }, async (req) => {
      const changed = await subscriptions.setState(req.params.id, {
        state,
        ...(req.body?.reason && { reason: req.body.reason }),
        ...(req.tokenSubject && { actor: req.tokenSubject }),
        by: 'operator',
      });
      if (!changed) throw notFound(`subscription ${req.params.id}`);
      // The subscriber workflow acts on the new state: drains on resume, holds on pause.
      await wake(changed.id);
      return { ...view(changed), temporal_ui: temporalUi(changed.id) };
    });
  }
};
