import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { backendEnvelope, backendEventInput } from '../../events/backend-event.js';
import { createRedactor } from '../../events/redact.js';
import type { AppDeps } from '../app-deps.js';

const accepted = z.object({
  event_id: z.uuid(),
  status: z.literal('pending'),
  subject: z.string(),
  duplicate: z.boolean(),
});

export const backendEventRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'publisher' | 'config'>> = async (app, { publisher, config }) => {
  const redact = createRedactor(config.sensitiveFields);

  app.post(
    '/events/create',
    { config: { scope: 'events:write' }, schema: { body: backendEventInput, response: { 202: accepted } } },
    async (req, reply) => {
      const envelope = backendEnvelope(req.body, new Date());
      const event = { ...envelope, data: redact(envelope.data), metadata: redact(envelope.metadata) };
      const { subject, duplicate } = await publisher.publish(event);
      req.log.debug({ eventId: event.event_id, subject, duplicate }, 'event accepted');
      return reply.code(202).send({ event_id: event.event_id, status: 'pending', subject, duplicate });
    },
  );
};
