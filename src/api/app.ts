import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Publisher } from '../nats/publisher.js';
import type { EventsRepo } from '../store/events-repo.js';
import { errorsPlugin } from './plugins/errors.js';
import { backendEventRoutes } from './routes/backend-events.js';
import { eventRoutes } from './routes/events.js';
import { type HealthCheck, healthRoutes } from './routes/health.js';

export interface AppDeps {
  config: Pick<Config, 'http' | 'temporal' | 'sensitiveFields'>;
  log: Logger;
  publisher: Publisher;
  repo: Pick<EventsRepo, 'get' | 'history'>;
  temporal: Client;
  healthChecks: HealthCheck[];
}

/** The HTTP app, without listening: the server entry listens, tests inject. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.config.http.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Two log lines per request would cost more than the request at ingestion rates.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(errorsPlugin);
  await app.register(healthRoutes, { checks: deps.healthChecks });
  await app.register(backendEventRoutes, { prefix: '/api', ...deps });
  await app.register(eventRoutes, { prefix: '/api', ...deps });
  return app;
}
