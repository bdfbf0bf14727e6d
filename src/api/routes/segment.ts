import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toItemErrors } from '../../events/batch-plan.js';
import {
  SEGMENT_CALL_TYPES,
  SEGMENT_MAX_BATCH_BYTES,
  SEGMENT_MAX_EVENT_BYTES,
  type SegmentCallType,
  segmentBatchDefaults,
  segmentEnvelope,
} from '../../events/segment.js';
import { createWriteKeys } from '../auth/write-keys.js';
import type { AppDeps } from '../app-deps.js';
import { notFound } from '../errors.js';
import { createIngestion, invalid } from '../ingestion.js';
import { inflateRequestBody } from '../request-encoding.js';

// Segment's HTTP tracking API (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/),
// as RudderStack serves it too, so that apps instrumented with their libraries send here
// unchanged. Every call goes through the same ingestion as our own batches; what differs is
// the mapping (src/events/segment.ts) and the answers, which are the ones these libraries act
// on: 200 once stored, 400 and 413 dropped, 429 and 5xx retried. docs/segment.md says it all.

/** analytics.js posts single calls to the first letter of their type (`/v1/t`), and batches to `/v1/b`. */
const SHORT: Record<SegmentCallType, string> = { track: 't', identify: 'i', page: 'p', screen: 's', group: 'g', alias: 'a' };

const message = z.looseObject({ type: z.enum(SEGMENT_CALL_TYPES).optional(), messageId: z.string().optional() });
const itemError = z.object({ path: z.string(), message: z.string() });
const singleAnswer = z.object({ success: z.literal(true), event_id: z.uuid(), duplicate: z.boolean() });
const batchAnswer = z.object({
  success: z.literal(true),
  accepted: z.number(),
  duplicates: z.number(),
  rejected: z.number(),
  errors: z.array(z.object({ index: z.number(), errors: z.array(itemError) })).optional(),
});

// The body is checked item by item in the handler (one bad message must not sink the others);
// the schemas are what the OpenAPI document shows.
const unchecked = {
  validatorCompiler: () => (value: unknown) => ({ value }),
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
};
const writeKeyRoute = { scope: 'events:write', acceptsWriteKey: true, bodyWriteKeyField: 'writeKey' } as const;

export const segmentRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'publisher' | 'config'>> = async (app, { publisher, config }) => {
  const ingestion = createIngestion({ publisher, config });
  const writeKeys = createWriteKeys(config.auth.writeKeys);

  // These libraries send JSON whatever their Content-Type says: text/plain from browsers (no
  // preflight), nothing or octet-stream from some server libraries; RudderStack's gzip it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addHook('preParsing', inflateRequestBody);

  for (const type of SEGMENT_CALL_TYPES) {
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const event = ingestion.finish(segmentEnvelope(req.body, type, {}, ingestion.facts(req)), 'sentAt');
      if (Array.isArray(event)) throw invalid(`invalid ${type} call`, event);
      const { duplicate } = await ingestion.publishOne(req, event);
      return reply.code(200).send({ success: true, event_id: event.event_id, duplicate });
    };
    const options = {
      config: writeKeyRoute,
      bodyLimit: SEGMENT_MAX_EVENT_BYTES,
      schema: { tags: ['segment'], summary: `Segment ${type} call`, body: message, response: { 200: singleAnswer } },
      ...unchecked,
    };
    app.post(`/v1/${type}`, options, handler);
    app.post(`/v1/${SHORT[type]}`, { ...options, schema: { ...options.schema, hide: true } }, handler);
  }

  const batchHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const shape = segmentBatchDefaults.safeParse(req.body);
    if (!shape.success) throw invalid('invalid batch: expected {"batch": [...]}', toItemErrors(shape.error));
    const { batch, context, integrations, sentAt } = shape.data;
    if (batch.length === 0) throw invalid('the batch holds no messages', [{ path: 'batch', message: 'at least one message' }]);
    const defaults = { ...(context && { context }), ...(integrations && { integrations }), ...(sentAt && { sentAt }) };
    const facts = ingestion.facts(req);
    const answer = await ingestion.publishBatch(req, batch, (item) => {
      const event = segmentEnvelope(item, undefined, defaults, facts);
      if (Array.isArray(event)) return event;
      // Measured once the message is known to be sane (nesting at most 64 deep, nothing unstorable).
      const size = Buffer.byteLength(JSON.stringify(item));
      if (size > SEGMENT_MAX_EVENT_BYTES) {
        return [{ path: '(message)', message: `a message is at most ${SEGMENT_MAX_EVENT_BYTES} bytes; this one has ${size}` }];
      }
      return ingestion.finish(event, 'sentAt');
    });
    const errors = answer.results.flatMap((r) => (r.status === 'rejected' ? [{ index: r.index, errors: r.errors }] : []));
    const { accepted, duplicates, rejected } = answer;
    return reply.code(200).send({ success: true, accepted, duplicates, rejected, ...(errors.length > 0 && { errors }) });
  };
  const batchOptions = {
    config: writeKeyRoute,
    bodyLimit: SEGMENT_MAX_BATCH_BYTES,
    schema: {
      tags: ['segment'],
      summary: 'Segment batch',
      body: z.looseObject({ batch: z.array(message) }),
      response: { 200: batchAnswer },
    },
    ...unchecked,
  };
  app.post('/v1/batch', batchOptions, batchHandler);
  app.post('/v1/b', { ...batchOptions, schema: { ...batchOptions.schema, hide: true } }, batchHandler);

  // analytics.js loads its settings from `${cdnURL}/v1/projects/${writeKey}/settings` before it
  // sends anything; this answer points it back at this service, on the host and scheme it used.
  app.get(
    '/v1/projects/:writeKey/settings',
    { schema: { tags: ['segment'], summary: 'Settings for analytics.js', params: z.object({ writeKey: z.string().min(1).max(200) }) } },
    async (req) => {
      const { writeKey } = req.params;
      if (writeKeys.size > 0 && !writeKeys.appFor(writeKey)) throw notFound('write key');
      return analyticsJsSettings(writeKey, `${req.host}/v1`, req.protocol);
    },
  );
};

/** The least analytics.js needs to load and send every call to `apiHost` (no destinations, no metrics). */
function analyticsJsSettings(writeKey: string, apiHost: string, protocol: string) {
  return {
    integrations: { 'Segment.io': { apiKey: writeKey, apiHost, protocol, unbundledIntegrations: [], addBundledMetadata: true } },
    plan: {
      track: { __default: { enabled: true, integrations: {} } },
      identify: { __default: { enabled: true } },
      group: { __default: { enabled: true } },
    },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}
