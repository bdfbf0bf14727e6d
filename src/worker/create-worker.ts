import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../config.js';
import { createActivities } from '../activities/index.js';
import { createProcessorRegistry, type Processor } from '../activities/processors.js';
import { createWebhookDeliverer } from '../activities/webhooks.js';
import { createEventsRepo } from '../store/events-repo.js';
import type { SubscriptionCache } from '../store/subscriptions-cache.js';
import { createSubscriptionsRepo } from '../store/subscriptions-repo.js';
import type { Pool } from '../store/pool.js';
import { createDataConverter } from '../temporal/codec.js';
import type { Logger } from '../logger.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { WorkerMetrics } from '../telemetry/worker-metrics.js';
import { workflowSource } from './workflow-bundle.js';

export interface WorkerDeps {
  connection: NativeConnection;
  pool: Pool;
  config: Pick<Config, 'env' | 'temporal' | 'worker' | 'payloadCodec'>;
  subscriptions: SubscriptionCache;
  processors?: Processor[];
  onSettled?: (eventId: string) => void;
  metrics?: WorkerMetrics;
  /** With tracing on: workflow, activity and webhook spans, children of the bridge's start. */
  tracing?: Tracing;
  log?: Logger;
}

/** Temporal's OpenTelemetry interceptors (client, workflow, activity) and the workflow span sink. */
export function tracingPlugin(tracing: Tracing): OpenTelemetryPlugin {
  return new OpenTelemetryPlugin({ resource: tracing.resource, spanProcessor: tracing.spanProcessor, tracer: tracing.tracer });
}

export function createWorker({ connection, pool, config, subscriptions, processors = [], onSettled, metrics, tracing, log }: WorkerDeps): Promise<Worker> {
  const dataConverter = createDataConverter(config);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...workflowSource(),
    activities: createActivities({
      repo: createEventsRepo(pool),
      processors: createProcessorRegistry(processors),
      webhooks: createWebhookDeliverer({
        subscriptions, deliveries: createSubscriptionsRepo(pool), timeoutMs: config.worker.webhookTimeoutMs, allowPrivate: config.worker.webhookAllowPrivate,
        ...(metrics && { metrics }), ...(tracing && { tracer: tracing.tracer }),
      }),
      ...(onSettled && { onSettled }),
      ...(metrics && { metrics }),
      ...(log && { log }),
    }),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    // The bridge opens workflows as fast as events arrive; when more are open than the cache
    // holds, every workflow task replays its history from scratch instead of resuming.
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    ...(dataConverter && { dataConverter }),
    // Off unless tracing is on: the workflow bundle then has no interceptor module at all.
    ...(tracing && { plugins: [tracingPlugin(tracing)] }),
  });
}
