import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
      ...(v.params?.issue && (v.params.issue as { keys?: string[] }).keys
        ? { unknown_fields: (v.params.issue as { keys: string[] }).keys }
        : {}),
    }));
    return { status: 400, code: 'validation_error', message: `invalid ${err.validationContext ?? 'request'}`, details };
  }
  const fe = err as FastifyError;
  // zlib's codes: a body sent as gzip that does not inflate.
  if (fe.code?.startsWith('Z_')) return { status: 400, code: 'malformed_body', message: 'the body is not valid gzip' };
  switch (fe.code) {
    case 'FST_ERR_BAD_URL':
      return { status: 400, code: 'bad_url', message: 'the URL is not valid (a malformed percent-encoding?)' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, code: 'uri_too_long', message: 'a path parameter is too long' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload_too_large', message: fe.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: fe.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'malformed_json', message: 'the body is not valid JSON' };
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return { status: fe.statusCode, code: 'bad_request', message: fe.message };
  return { status: 500, code: 'internal', message: 'internal error' };
}

// A client still sending a body we refused must be allowed to finish, or it sees a broken pipe
// instead of our 413 (Node's fetch reports "fetch failed"), cannot tell "too large" from "network
// down", and retries. Up to this much of the rest is read and thrown away; past it, or after the
// time limit, the answer is sent and the connection closed.
const DRAIN_CAP_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

function drain(raw: IncomingMessage): Promise<boolean> {
  if (raw.complete || raw.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (complete: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail);
      resolve(complete);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > DRAIN_CAP_BYTES) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const timer = setTimeout(() => finish(false), DRAIN_TIMEOUT_MS);
    raw.on('data', onData).once('end', onEnd).once('error', onFail).once('close', onFail);
    raw.resume();
  });
}

function errorBody(m: Mapped, requestId: string) {
  return { error: { code: m.code, message: m.message, ...(m.details !== undefined && { details: m.details }) }, request_id: requestId };
}

/** Fastify's `frameworkErrors`: errors met before routing (a bad URL, a path parameter too long). */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const m = map(err);
  void reply.code(m.status).send(errorBody(m, req.id));
}

/**
 * Errors Node's HTTP parser meets before there is a request (headers too large, a malformed
 * request line): no request id exists yet, so the id is made here. Fastify's `clientErrorHandler`.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'the request headers are larger than the server takes (16 KiB)']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request took too long to arrive']
        : [400, 'bad_request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message }, request_id: randomUUID() });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(async (err: FastifyError, req, reply) => {
      const m = map(err);
      if (m.status === 413 && !(await drain(req.raw))) void reply.header('connection', 'close');
      // A dependency being down is reported by its health check; the stack adds nothing there.
      if (m.status === 500) req.log.error({ err }, 'request failed');
      else if (m.status >= 500) req.log.warn({ code: m.code, message: m.message }, 'request refused: dependency unavailable');
      if (m.retryAfter) void reply.header('retry-after', String(m.retryAfter));
      return reply.code(m.status).send(errorBody(m, req.id));
    });
    app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` }, request_id: req.id }),
    );
  },
  { name: 'errors' },
);
