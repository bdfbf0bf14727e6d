import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkDestination, PrivateDestinationError } from '../../activities/destinations.js';
import { secretBoxFor } from '../../crypto/secret-box.js';
import { ORDERING_KEY_PATH } from '../../store/subscription-settings.js';
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

const ms = (max: number) => z.number().int().min(1).max(max);
/** A subscription's own delivery settings; every one left out takes the service's default (docs/subscribers.md). */
export const settingsBody = z.strictObject({
  pause_after_failures: z.number().int().min(1).max(10_000).optional(),
  failure_window_ms: ms(30 * 86_400_000).optional(),
  max_wait_ms: ms(365 * 86_400_000).optional(),
  drain_rate: z.number().min(0.01).max(1000).optional(),
  timeout_ms: ms(120_000).optional(),
  ordering_key: z.string().regex(ORDERING_KEY_PATH, 'user_id, session_id, event_type or data.<field>[.<field>…]').optional(),
  retry: z
    .strictObject({
      max_attempts: z.number().int().min(1).max(1000).optional(),
      initial_interval_ms: ms(86_400_000).optional(),
      backoff: z.number().min(1).max(10).optional(),
      max_interval_ms: ms(86_400_000).optional(),
    })
    .optional(),
});

const createBody = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  subjects: z.array(subjectPattern).min(1).max(50),
  secret: z.string().min(16).max(200).optional(),
  format: z
    .enum(SUBSCRIPTION_FORMATS)
    .default('envelope')
    .describe('envelope: the event as JSON; cloudevents-structured / cloudevents-binary: a CloudEvent whose data is the envelope'),
  settings: settingsBody.optional(),
});

/** What the API shows of a subscription: never the secret, only whether there is one. */
export const view = ({ secret, ...s }: Subscription) => ({ ...s, signed: secret !== null });

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
