import { context, type Context, propagation, ROOT_CONTEXT, type TextMapGetter, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config.js';

// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT (or TRACING_ENABLED) turns it on: then each
// event is one trace, from the HTTP request through the NATS message headers, the bridge, the
// workflow and its activities to the webhook calls. Off, nothing below runs per event.

export interface Tracing {
  tracer: Tracer;
  resource: Resource;
  /** For the workflow span sink, which exports from outside the workflow sandbox. */
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

let globalsInstalled = false;

/** Context propagation is process-wide in OpenTelemetry (Temporal's interceptors use it too). */
function installGlobals(): void {
  if (globalsInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  globalsInstalled = true;
}

/**
 * The process's tracer, or undefined when tracing is off. Tests pass an exporter of their own
 * (spans are then exported one by one, at once).
 */
export function createTracing(config: Pick<Config, 'tracing'>, serviceName: string, exporter?: SpanExporter): Tracing | undefined {
  const { enabled, endpoint, sampleRatio } = config.tracing;
  if (!enabled && !exporter) return undefined;
  installGlobals();
  const resource = new Resource({ 'service.name': serviceName, 'service.namespace': 'event-service' });
  const spanProcessor = exporter
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter(endpoint ? { url: `${endpoint.replace(/\/$/, '')}/v1/traces` } : {}));
  const provider = new BasicTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }),
    spanProcessors: [spanProcessor],
  });
  return {
    tracer: provider.getTracer('event-service'),
    resource,
    spanProcessor,
    shutdown: () => provider.shutdown(),
  };
}

/** The active trace context as W3C headers (`traceparent`, `tracestate`), if there is one. */
export function activeTraceHeaders(): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : undefined;
}

interface HeaderSource {
  get(key: string): string;
}

const headerGetter: TextMapGetter<HeaderSource> = {
  get: (h, key) => h.get(key) || undefined,
  keys: () => ['traceparent', 'tracestate'],
};

/** The trace context a producer put in a NATS message's headers (the root context if none). */
export function contextFromHeaders(headers: HeaderSource | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
}

/** The trace id of the active span, for logs and answers. */
export function activeTraceId(): string | undefined {
  return trace.getSpan(context.active())?.spanContext().traceId;
}
