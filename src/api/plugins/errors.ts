import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { EventTooLargeError, StreamUnavailableError } from '../../nats/publisher.js';
import { HttpError } from '../errors.js';

// One error shape for every failure: {"error": {code, message, details?}, "request_id"}.

interface Mapped {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  retryAfter?: number;
}

function map(err: FastifyError | Error): Mapped {
  if (err instanceof HttpError) {
    return { status: err.statusCode, code: err.code, message: err.message, details: err.details, retryAfter: err.retryAfterSeconds };
  }
  if (err instanceof EventTooLargeError) return { status: 413, code: 'payload_too_large', message: err.message };
  if (err instanceof StreamUnavailableError) {
    return { status: 503, code: 'stream_unavailable', message: 'the event could not be stored durably; retry later', retryAfter: 5 };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const details = err.validation.map((v) => ({
      path: v.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)',
      message: v.message ?? 'invalid',
      ...(v.params?.issue && (v.params.issue as { keys?: string[] }).keys ? { unknown_fields: (v.params.issue as { keys: string[] }).keys } : {}),
    }));
    return { status: 400, code: 'validation_error', message: `invalid ${err.validationContext ?? 'request'}`, details };
  }
  const fe = err as FastifyError;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload_too_large', message: fe.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: fe.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'malformed_json', message: 'the body is not valid JSON' };
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return { status: fe.statusCode, code: 'bad_request', message: fe.message };
  return { status: 500, code: 'internal', message: 'internal error' };
}

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      const m = map(err);
      // A dependency being down is reported by its health check; the stack adds nothing there.
      if (m.status === 500) req.log.error({ err }, 'request failed');
      else if (m.status >= 500) req.log.warn({ code: m.code, message: m.message }, 'request refused: dependency unavailable');
      if (m.retryAfter) void reply.header('retry-after', String(m.retryAfter));
      return reply.code(m.status).send({
        error: { code: m.code, message: m.message, ...(m.details !== undefined && { details: m.details }) },
        request_id: req.id,
      });
    });
    app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` }, request_id: req.id }),
    );
  },
  { name: 'errors' },
);
