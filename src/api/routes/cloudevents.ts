import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cloudEventEnvelope } from '../../events/cloudevent.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError } from '../errors.js';
import { createIngestion, invalid } from '../ingestion.js';

// CloudEvents over HTTP (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md):
// binary mode (attributes in ce-* headers, the body is the data), structured mode
// (application/cloudevents+json) and batches (application/cloudevents-batch+json). They go
// through the same ingestion as every other event; the mapping is src/events/cloudevent.ts.

const BATCH = 'application/cloudevents-batch+json';
const STRUCTURED = 'application/cloudevents+json';

const single = z.object({ event_id: z.uuid(), status: z.literal('pending'), subject: z.string(), duplicate: z.boolean() });

const mediaType = (req: FastifyRequest) => req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
const isJson = (type: string) => type === 'application/json' || type.endsWith('+json') || type === 'text/json';

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed_json', 'the body is not valid JSON');
  }
}

/** A header value as the HTTP binding writes it: percent-encoded where not printable ASCII. */
function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * A binary-mode event: its attributes from the ce-* headers (and Content-Type as
 * datacontenttype), its data from the body: JSON parsed, text kept as text, anything else as
 * base64. Decoded here rather than by the SDK's HTTP.toEvent, which dates an event that sent no
 * ce-time and replaces an invalid one with the current time: the event would be stored under a
 * time its producer never said, instead of being refused naming `time`.
 */
function fromBinary(req: FastifyRequest, body: Buffer): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('ce-') && value !== undefined)
      attrs[name.slice(3)] = percentDecoded(Array.isArray(value) ? value.join(',') : value);
  }
  if (attrs.id === undefined) throw invalid('invalid CloudEvent', [{ path: 'id', message: 'the ce-id header is required' }]);
  if (req.headers['content-type']) attrs.datacontenttype = req.headers['content-type'];
  if (body.length === 0) return attrs;
  const type = mediaType(req);
  if (isJson(type)) {
    try {
      return { ...attrs, data: JSON.parse(body.toString('utf8')) };
    } catch {
      throw invalid('invalid CloudEvent', [{ path: 'data', message: `the body is not valid JSON, as its content type ${type} says` }]);
    }
  }
  if (type.startsWith('text/')) return { ...attrs, data: body.toString('utf8') };
  return { ...attrs, data_base64: body.toString('base64') };
}

export const cloudEventsRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'publisher' | 'config'>> = async (app, { publisher, config }) => {
  const ingestion = createIngestion({ publisher, config });
  // In binary mode the body is the event's data, of any type; the mode decides how it is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post(
    '/cloudevents',
    {
      config: { scope: 'events:write', textPlainIsData: true },
      schema: {
        summary: 'CloudEvents in binary, structured or batch mode',
        description: `Binary mode: ce-id, ce-source, ce-type, ce-specversion headers, the body is the data. Structured: ${STRUCTURED}. Batch: ${BATCH}.`,
        response: {
          202: z.union([
            single,
            z.object({ results: z.array(z.unknown()), accepted: z.number(), duplicates: z.number(), rejected: z.number() }),
          ]),
        },
      },
    },
    async (req, reply) => {
      const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
      const type = mediaType(req);
      const facts = ingestion.facts(req);
      if (type === BATCH) {
        const items = parseJson(body);
        if (!Array.isArray(items))
          throw invalid('a batch is a JSON array of CloudEvents', [{ path: '(root)', message: 'expected an array' }]);
        if (items.length === 0) throw invalid('the batch holds no events', [{ path: '(root)', message: 'at least one event' }]);
        const answer = await ingestion.publishBatch(req, items, (item) => ingestion.finish(cloudEventEnvelope(item, facts), 'time'));
        return reply.code(202).send(answer);
      }
      let attrs: unknown;
      if (type === STRUCTURED) attrs = parseJson(body);
      else if (req.headers['ce-id'] !== undefined || req.headers['ce-specversion'] !== undefined) attrs = fromBinary(req, body);
      else {
        throw invalid('not a CloudEvent', [
          { path: 'specversion', message: `send the attributes as ce-* headers (binary mode), or the event as ${STRUCTURED}` },
        ]);
      }
      const event = ingestion.finish(cloudEventEnvelope(attrs, facts), 'time');
      if (Array.isArray(event)) throw invalid('invalid CloudEvent', event);
      const { subject, duplicate } = await ingestion.publishOne(req, event);
      return reply.code(202).send({ event_id: event.event_id, status: 'pending', subject, duplicate });
    },
  );
};
