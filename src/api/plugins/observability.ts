import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import type { ApiMetrics } from '../../telemetry/api-metrics.js';
import { contextFromHeaders, type Tracing } from '../../telemetry/tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Events of this request refused as invalid, when not the whole request (a batch's bad items). */
    rejectedEvents?: number;
    /** The request's span, with tracing on. */
    span?: Span;
  }
}

// Probes and scrapes every few seconds would bury the traces worth reading.
const UNTRACED = new Set(['/health', '/metrics']);
// Where events come in, and the source an invalid one would have had.
const INGEST_ROUTES: Record<string, string> = { '/api/events/create': 'backend', '/api/frontend/events': 'frontend' };

export interface ObservabilityDeps {
  metrics: ApiMetrics;
  registry: Registry;
  tracing?: Tracing;
}

/**
 * `GET /metrics` (Prometheus text), a latency histogram per route pattern, the refused events
 * of the ingestion routes and, with tracing on, one server span per request whose context the
 * handler runs in, so that a published event carries it in its NATS headers.
 */
export const observabilityPlugin = fp(
  async (app: FastifyInstance, { metrics, registry, tracing }: ObservabilityDeps) => {
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      return reply.type(registry.contentType).send(await registry.metrics());
    });

    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url;
      const status = reply.statusCode;
      metrics.request(req.method, route ?? 'unmatched', status, reply.elapsedTime / 1000);
      const source = route && INGEST_ROUTES[route];
      if (source) {
        const rejected = req.rejectedEvents ?? (status === 400 || status === 413 ? 1 : 0);
        if (rejected > 0) metrics.ingested(source, 'unknown', 'rejected', rejected);
      }
    });

    if (!tracing) return;
    const { tracer } = tracing;
    app.addHook('onRequest', async (req) => {
      if (UNTRACED.has(req.routeOptions.url ?? '')) return;
      const parent = contextFromHeaders({ get: (k) => headerValue(req, k) });
      const route = req.routeOptions.url ?? 'unmatched';
      const span = tracer.startSpan(
        `${req.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': req.method, 'http.route': route, 'request.id': req.id },
        },
        parent,
      );
      req.span = span;
      req.log = req.log.child({ trace_id: span.spanContext().traceId });
    });
    app.addHook('onResponse', async (req, reply) => {
      const span = req.span;
      if (!span) return;
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    // Handlers run inside their request's span, so whatever they start (a publish) is its child.
    app.addHook('onRoute', (route) => {
      const handler = route.handler as RouteHandlerMethod;
      route.handler = function (this: FastifyInstance, req, reply) {
        const span = req.span;
        return span
          ? context.with(trace.setSpan(context.active(), span), () => handler.call(this, req, reply))
          : handler.call(this, req, reply);
      } as RouteHandlerMethod;
    });
  },
  { name: 'observability' },
);

function headerValue(req: FastifyRequest, key: string): string {
  const v = req.headers[key];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}
