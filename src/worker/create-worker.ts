import { setFlagsFromString } from 'node:v8';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../config.js';
import { type ActivityDeps, createActivities } from '../activities/index.js';
import { createProcessorRegistry } from '../activities/processors.js';
import type { Processor } from '../events/processor.js';
import { createSubscriberActivities } from '../activities/subscriber-activities.js';
import { createWebhookDeliverer } from '../activities/webhooks.js';
import { secretBoxFor } from '../crypto/secret-box.js';
import { fieldCryptoFor } from '../crypto/field-crypto.js';
import { createEventsRepo } from '../store/events-repo.js';
import type { SubscriptionCache } from '../store/subscriptions-cache.js';
import { createSubscriptionsRepo } from '../store/subscriptions-repo.js';
import type { Pool } from '../store/pool.js';
import { createDataConverter } from '../temporal/codec.js';
import type { Logger } from '../logger.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { WorkerMetrics } from '../telemetry/worker-metrics.js';
import { subscriberWiring, type SubscriberConfig } from './subscribers.js';
import { workflowSource } from './workflow-bundle.js';

export interface WorkerDeps {
  connection: NativeConnection;
  pool: Pool;
  config: Pick<Config, 'env' | 'temporal' | 'worker' | 'payloadCodec' | 'encryptedFields' | 'readSide'> & SubscriberConfig;
  subscriptions: SubscriptionCache;
  processors?: Processor[];
  onSettled?: (eventId: string) => void;
  /** Reads a big event, started by reference, from its stream message (src/bridge/load-message.ts). */
  loadMessage?: ActivityDeps['loadMessage'];
  metrics?: WorkerMetrics;
  /** With tracing on: workflow, activity and webhook spans, children of the bridge's start. */
  tracing?: Tracing;
  log?: Logger;
}

/** Temporal's OpenTelemetry interceptors (client, workflow, activity) and the workflow span sink. */
export function tracingPlugin(tracing: Tracing): OpenTelemetryPlugin {
  return new OpenTelemetryPlugin({ resource: tracing.resource, spanProcessor: tracing.spanProcessor, tracer: tracing.tracer });
}

/**
 * Frames in a workflow sandbox's stack traces. The SDK records the stack of every promise a
 * workflow makes (for the stack trace the Temporal UI shows) and source-maps it frame by frame;
 * two of the frames are its own hook's, and most of the rest its own machinery, which it then
 * cuts off. V8's default of 10 costs ~0.4 ms of worker CPU per event more than 6 (docs/performance.md,
 * "What the figures rely on"); 6 still shows where a parked workflow waits (test/lifecycle.test.ts).
 */
export const WORKFLOW_STACK_FRAMES = 6;

export function createWorker({
  connection,
  pool,
  config,
  subscriptions,
  processors = [],
  onSettled,
  loadMessage,
  metrics,
  tracing,
  log,
}: WorkerDeps): Promise<Worker> {
  const dataConverter = createDataConverter(config);
  // A context takes its Error.stackTraceLimit from this flag when it is made: the workflow
  // threads and sandboxes the worker makes next get it, this thread keeps its own (activity
  // failures keep their whole stacks).
  setFlagsFromString(`--stack-trace-limit=${WORKFLOW_STACK_FRAMES}`);
  // The configured fields sealed as they are stored, and opened for processors and webhooks; the
  // read models (PROJECTIONS_ENABLED) counted as a run's start stores its event.
  const repo = createEventsRepo(pool, fieldCryptoFor(config), { countIntoReadModels: config.readSide.projections });
  // Sealed secrets opened: the drain signs what it sends as the live path does.
  const subscriptionsRepo = createSubscriptionsRepo(pool, secretBoxFor(config));
  const subscribers = subscriberWiring(connection, pool, config);
  const webhooks = createWebhookDeliverer({
    subscriptions,
    deliveries: subscriptionsRepo,
    ...subscribers,
    allowPrivate: config.worker.webhookAllowPrivate,
    ...(metrics && { metrics }),
    ...(tracing && { tracer: tracing.tracer }),
  });
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...workflowSource(),
    activities: {
      ...createActivities({
        repo,
        processors: createProcessorRegistry(processors),
        webhooks,
        ...(onSettled && { onSettled }),
        ...(loadMessage && { loadMessage }),
        ...(metrics && { metrics }),
        ...(log && { log }),
      }),
      // The subscriber workflow's: its drain and probe send through the same deliverer.
      ...createSubscriberActivities({ subscriptions: subscriptionsRepo, events: repo, webhooks, ...subscribers }),
    },
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
