import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createClientInfoReader } from '../../events/client-info.js';
import type { EventEnvelope } from '../../events/envelope.js';
import { type ItemError, type ItemResult, planBatch, toItemErrors } from '../../events/frontend-batch.js';
import { isStorableTime } from '../../events/storable.js';
import { frontendBatchInput, frontendEnvelope, frontendEventInput, type FrontendEventInput } from '../../events/frontend-event.js';
import { createRedactor } from '../../events/redact.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError } from '../errors.js';

const single = z.object({ event_id: z.uuid(), status: z.literal('pending'), subject: z.string(), duplicate: z.boolean() });
const itemError = z.object({ path: z.string(), message: z.string(), unknown_fields: z.array(z.string()).optional() });
const itemResult = z.discriminatedUnion('status', [
  z.object({ index: z.number(), status: z.literal('accepted'), event_id: z.uuid(), subject: z.string() }),
  z.object({ index: z.number(), status: z.literal('duplicate'), event_id: z.uuid() }),
  z.object({ index: z.number(), status: z.literal('rejected'), errors: z.array(itemError) }),
]);
const batchAnswer = z.object({ results: z.array(itemResult), accepted: z.number(), duplicates: z.number(), rejected: z.number() });
const batchShape = z.strictObject({ events: z.array(z.unknown()), write_key: z.string().optional() });

const invalid = (message: string, details: unknown) => new HttpError(400, 'validation_error', message, details);

export const frontendEventsRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'publisher' | 'config'>> = async (app, { publisher, config }) => {
  const redact = createRedactor(config.sensitiveFields);
  const readClient = createClientInfoReader();
  const maxEvents = config.ingest.batchMaxEvents;

  /** One builder per request: every event of a batch shares its client info and received_at. */
  function builderFor(req: FastifyRequest) {
    // req.ip follows X-Forwarded-For only from TRUSTED_PROXIES (Fastify's trustProxy, set in buildApp).
    const client = readClient({ ip: req.ip, headers: req.headers });
    const app = req.writeKeyApp;
    const ctx = { receivedAt: new Date(), client, ...(app && { app }), maxFutureSkewMs: config.ingest.maxFutureSkewMs };
    return (input: FrontendEventInput): EventEnvelope | ItemError[] => {
      const event = frontendEnvelope(input, ctx);
      // sent_at far from the client's timestamp can correct it out of any storable range.
      if (!isStorableTime(event.timestamp)) {
        return [
          {
            path: 'sent_at',
            message: `correcting the clock skew gives ${event.timestamp}, which is not a time from year 1 to 9999: check timestamp and sent_at`,
          },
        ];
      }
      event.data = redact(event.data);
      event.metadata = redact(event.metadata);
      return event;
    };
  }

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
      const build = builderFor(req);

      if (!('events' in body)) {
        const parsed = frontendEventInput.safeParse(body);
        if (!parsed.success) throw invalid('invalid body', toItemErrors(parsed.error));
        const event = build(parsed.data);
        if (Array.isArray(event)) throw invalid('invalid body', event);
        const { subject, duplicate } = await publisher.publish(event);
        req.log.debug({ eventId: event.event_id, subject, duplicate }, 'event accepted');
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

      const plan = planBatch(events, build);
      req.rejectedEvents = plan.rejected.length;
      if (plan.toPublish.length === 0) {
        throw invalid(
          'no event in the batch is valid',
          plan.rejected.map(({ index, errors }) => ({ index, errors })),
        );
      }
      const results = plan.settle(await publisher.publishMany(plan.toPublish));
      if (!results.some((r) => r.status === 'accepted' || r.status === 'duplicate' || r.status === 'failed')) {
        // Every valid event turned out too large for a stream message once enriched.
        throw new HttpError(413, 'payload_too_large', 'no event of the batch fits in a stream message once enriched', results);
      }
      const settled = results.filter((r): r is Exclude<ItemResult, { status: 'failed' }> => r.status !== 'failed');
      const count = (status: string) => results.filter((r) => r.status === status).length;
      const answer = { results: settled, accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected') };
      req.rejectedEvents = answer.rejected;
      const failed = results.length - settled.length;
      if (failed > 0) {
        // 202 means every valid event of the batch is stored; the details say which ones are, so
        // that a client resends only the failed ones (or all of them: their ids deduplicate).
        const details = { ...answer, results, failed };
        throw new HttpError(
          503,
          'stream_unavailable',
          `${failed} of the batch's events could not be stored durably; retry them later`,
          details,
          5,
        );
      }
      if (req.log.level === 'debug' || req.log.level === 'trace') {
        req.log.debug({ ...answer, results: undefined, eventIds: plan.toPublish.map((e) => e.event_id) }, 'batch accepted');
      }
      return reply.code(202).send(answer);
    },
  );
};
