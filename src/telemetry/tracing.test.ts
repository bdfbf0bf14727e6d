import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { activeTraceHeaders, activeTraceId, contextFromHeaders, createTracing } from './tracing.js';

describe('tracing', () => {
  it('is off without an OTLP endpoint or TRACING_ENABLED, on with either', () => {
    expect(createTracing(loadConfig({}), 'x')).toBeUndefined();
    expect(createTracing(loadConfig({ TRACING_ENABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'x')).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing.enabled).toBe(true);
  });

  it('carries the active span through message headers to the consumer', () => {
    const tracing = createTracing(loadConfig({ TRACING_ENABLED: 'true' }), 'x', new InMemorySpanExporter())!;
    expect(activeTraceHeaders()).toBeUndefined();
    const span = tracing.tracer.startSpan('produce');
    const headers = context.with(trace.setSpan(context.active(), span), () => activeTraceHeaders())!;
    span.end();
    expect(headers.traceparent).toContain(span.spanContext().traceId);

    const received = contextFromHeaders({ get: (k) => headers[k] ?? '' });
    const child = tracing.tracer.startSpan('consume', {}, received);
    expect(child.spanContext().traceId).toBe(span.spanContext().traceId);
    expect(context.with(trace.setSpan(received, child), activeTraceId)).toBe(span.spanContext().traceId);
    expect(trace.getSpanContext(contextFromHeaders({ get: () => '' }))).toBeUndefined();
  });
});
