import { context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { contextFromHeaders } from '../telemetry/tracing.js';
import type { Outcome } from './handle-message.js';

/** Handles a message in a span of its own, the child of the producer's context from its headers. */
export function traced(tracer: Tracer, headers: Parameters<typeof contextFromHeaders>[0], work: () => Promise<Outcome>): Promise<Outcome> {
  const span = tracer.startSpan('bridge handle', { kind: SpanKind.CONSUMER }, contextFromHeaders(headers));
  return context.with(trace.setSpan(context.active(), span), work).then(
    (outcome) => {
      span.setAttribute('bridge.outcome', outcome);
      if (outcome === 'dead_lettered' || outcome === 'retry') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
      return outcome;
    },
    (err: unknown) => {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw err;
    },
  );
}
