import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toItemErrors } from '../../events/batch-plan.js';
import { frontendBatchInput, frontendEnvelope, frontendEventInput } from '../../events/frontend-event.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError } from '../errors.js';
import { createIngestion, invalid } from '../ingestion.js';

const single = z.object({ event_id: z.uuid(), status: z.literal('pending'), subject: z.string(), duplicate: z.boolean() });
const itemError = z.object({ path: z.string(), message: z.string(), unknown_fields: z.array(z.string()).optional() });
const itemResult = z.discriminatedUnion('status', [
  z.object({ index: z.number(), status: z.literal('accepted'), event_id: z.uuid(), subject: z.string() }),
  z.object({ index: z.number(), status: z.literal('duplicate'), event_id: z.uuid() }),
  z.object({ index: z.number(), status: z.literal('rejected'), errors: z.array(itemError) }),
]);
const batchAnswer = z.object({ results: z.array(itemResult), accepted: z.number(), duplicates: z.number(), rejected: z.number() });
const batchShape = z.strictObject({ events: z.array(z.unknown()), write_key: z.string().optional() });

export const frontendEventsRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'publisher' | 'config'>> = async (app, { publisher, config }) => {
  const ingestion = createIngestion({ publisher, config });
  const maxEvents = config.ingest.batchMaxEvents;

  app.post(
    '/frontend/events',
    {
      config: { scope: 'events:write', acceptsWriteKey: true },
      schema: { body: z.union([frontendEventInput, frontendBatchInput]), response: { 202: z.union([single, batchAnswer]) } },
      // The schemas above are what the documentation shows. The handler validates each item of a
      // batch on its own, so that one bad event does not sink the good ones, and builds its
      // answers from typed values: checking them again would cost more than the ack itself.
      validatorCompiler: () => (value: unknown) => ({ value }),
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
    },
    async (req, reply) => {
      const body = req.body as unknown;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw invalid('the body must be one event object or {"events": [...]}', [{ path: '(root)', message: 'expected an object' }]);
      }
      const facts = ingestion.facts(req);

      if (!('events' in body)) {
        const parsed = frontendEventInput.safeParse(body);
        if (!parsed.success) throw invalid('invalid body', toItemErrors(parsed.error));
        const event = ingestion.finish(frontendEnvelope(parsed.data, facts));
        if (Array.isArray(event)) throw invalid('invalid body', event);
        const { subject, duplicate } = await ingestion.publishOne(req, event);
        return reply.code(202).send({ event_id: event.event_id, status: 'pending', subject, duplicate });
      }

      const shape = batchShape.safeParse(body);
      if (!shape.success) throw invalid('invalid batch', toItemErrors(shape.error));
      const { events } = shape.data;
      if (events.length > maxEvents) {
        throw new HttpError(413, 'too_many_events', `a batch holds at most ${maxEvents} events; this one has ${events.length}`, {
          max: maxEvents,
          received: events.length,
        });
      }
      if (events.length === 0) throw invalid('the batch holds no events', [{ path: 'events', message: 'at least one event' }]);

      const answer = await ingestion.publishBatch(req, events, (item) => {
        const parsed = frontendEventInput.safeParse(item);
        return parsed.success ? ingestion.finish(frontendEnvelope(parsed.data, facts)) : toItemErrors(parsed.error);
      });
      return reply.code(202).send(answer);
    },
  );
};
