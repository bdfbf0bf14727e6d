import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from './app-deps.js';
import { authPlugin } from './plugins/auth.js';
import { corsPlugin } from './plugins/cors.js';
import { clientErrorHandler, errorsPlugin, frameworkErrorHandler } from './plugins/errors.js';
import { observabilityPlugin } from './plugins/observability.js';
import { openapiPlugin } from './plugins/openapi.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { backendEventRoutes } from './routes/backend-events.js';
import { cloudEventsRoutes } from './routes/cloudevents.js';
import { codecRoutes } from './routes/codec.js';
import { deadLettersRoutes } from './routes/dead-letters.js';
import { demoRoutes } from './routes/demo.js';
import { eventQueryRoutes } from './routes/event-queries.js';
import { eventRoutes } from './routes/events.js';
import { frontendEventsRoutes } from './routes/frontend-events.js';
import { healthRoutes } from './routes/health.js';
import { operatorRoutes } from './routes/operator.js';
import { segmentRoutes } from './routes/segment.js';
import { statsRoutes } from './routes/stats.js';
import { subscriberDeliveryRoutes } from './routes/subscriber-deliveries.js';
import { subscriberHealthRoutes } from './routes/subscriber-health.js';
import { subscriptionsRoutes } from './routes/subscriptions.js';
import { visibilityRoutes } from './routes/visibility.js';
import './scopes.js';

/** The HTTP app, without listening: the server entry listens, tests inject. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.config.http.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Two log lines per request would cost more than the request at ingestion rates.
    logController: new LogController({ disableRequestLogging: true }),
    // X-Forwarded-For is believed only from the proxies we run; anyone else could forge it.
    ...(deps.config.ingest.trustedProxies.length > 0 && { trustProxy: [...deps.config.ingest.trustedProxies] }),
    // Errors met before routing (a bad URL, a path parameter too long) and before there is a
    // request at all (headers too large) get the same JSON error body as every other.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(errorsPlugin);
  await app.register(observabilityPlugin, deps);
  await app.register(openapiPlugin);
  await app.register(corsPlugin, deps);
  await app.register(authPlugin, deps);
  await app.register(rateLimitPlugin, deps);
  await app.register(healthRoutes, { checks: deps.healthChecks });
  await app.register(codecRoutes, deps);
  for (const routes of [
    backendEventRoutes,
    frontendEventsRoutes,
    cloudEventsRoutes,
    eventRoutes,
    visibilityRoutes,
    operatorRoutes,
    subscriptionsRoutes,
    subscriberHealthRoutes,
    subscriberDeliveryRoutes,
    deadLettersRoutes,
  ]) {
    await app.register(routes, { prefix: '/api', ...deps });
  }
  // Segment's and RudderStack's tracking API, at the paths their libraries use (issue 21).
  await app.register(segmentRoutes, deps);
  // The browser SDK's demo page: development and test only.
  if (deps.config.env !== 'production') await app.register(demoRoutes);
  // The read side (issue 11).
  for (const routes of [eventQueryRoutes, statsRoutes]) {
    await app.register(routes, { prefix: '/api', ...deps });
  }
  return app;
}
