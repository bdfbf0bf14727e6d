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
import { workflowSource } from './workflow-bundle.js';

export interface WorkerDeps {
  connection: NativeConnection;
  pool: Pool;
  config: Pick<Config, 'env' | 'temporal' | 'worker' | 'payloadCodec'>;
  subscriptions: SubscriptionCache;
  processors?: Processor[];
  onSettled?: (eventId: string) => void;
}

export function createWorker({ connection, pool, config, subscriptions, processors = [], onSettled }: WorkerDeps): Promise<Worker> {
  const dataConverter = createDataConverter(config);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...workflowSource(),
    activities: createActivities({
      repo: createEventsRepo(pool),
      processors: createProcessorRegistry(processors),
      webhooks: createWebhookDeliverer({ subscriptions, deliveries: createSubscriptionsRepo(pool), timeoutMs: config.worker.webhookTimeoutMs, allowPrivate: config.worker.webhookAllowPrivate }),
      ...(onSettled && { onSettled }),
    }),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    // The bridge opens workflows as fast as events arrive; when more are open than the cache
    // holds, every workflow task replays its history from scratch instead of resuming.
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    ...(dataConverter && { dataConverter }),
  });
}
