import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkDestination, PrivateDestinationError } from '../../activities/destinations.js';
import { secretBoxFor } from '../../crypto/secret-box.js';
import { createSubscriptionsRepo, SUBSCRIPTION_FORMATS, type Subscription } from '../../store/subscriptions-repo.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError, notFound } from '../errors.js';

// A subject pattern: events.<source>.<category>.<type> tokens, `*` for one token, `>` at the end.
const subjectPattern = z
  .string()
  .max(300)
  .regex(
    /^events(\.([a-z0-9_]{1,100}|\*))*(\.>)?$/,
    'a subject pattern under events., e.g. events.frontend.> or events.*.service.user_created',
  );

const createBody = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  subjects: z.array(subjectPattern).min(1).max(50),
  secret: z.string().min(16).max(200).optional(),
  format: z
    .enum(SUBSCRIPTION_FORMATS)
    .default('envelope')
    .describe('envelope: the event as JSON; cloudevents-structured / cloudevents-binary: a CloudEvent whose data is the envelope'),
});

/** What the API shows of a subscription: never the secret, only whether there is one. */
const view = ({ secret, ...s }: Subscription) => ({ ...s, signed: secret !== null });

export const subscriptionsRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { pool, config }) => {
  const subscriptions = createSubscriptionsRepo(pool, secretBoxFor(config));
  const admin = { scope: 'events:admin' } as const;

  app.post('/subscriptions', { config: admin, schema: { body: createBody } }, async (req, reply) => {
    try {
      await checkDestination(req.body.url, config.worker.webhookAllowPrivate);
    } catch (err) {
      const reason =
        err instanceof PrivateDestinationError
          ? err.message
          : `${new URL(req.body.url).hostname} cannot be resolved: ${(err as Error).message}`;
      throw new HttpError(400, 'destination_refused', `webhook destination refused: ${reason}`);
    }
    return reply.code(201).send(view(await subscriptions.create(req.body)));
  });

  app.get('/subscriptions', { config: admin }, async () => ({ subscriptions: (await subscriptions.list()).map(view) }));

  app.delete('/subscriptions/:id', { config: admin, schema: { params: z.object({ id: z.uuid() }) } }, async (req, reply) => {
    if (!(await subscriptions.remove(req.params.id))) throw notFound(`subscription ${req.params.id}`);
    return reply.code(204).send();
  });
};
