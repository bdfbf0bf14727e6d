import type { EventEnvelope } from '../events/envelope.js';
import type { Logger } from '../logger.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { WorkerMetrics } from '../telemetry/worker-metrics.js';
import type { EventReference } from '../workflows/definitions.js';
import type { ProcessorRegistry } from './processors.js';
import type { WebhookDeliverer } from './webhooks.js';

/** What the activities are built from: the worker wires them (src/worker/main.ts). */
export interface ActivityDeps {
  repo: Pick<EventsRepo, 'begin' | 'insertUnstorable' | 'recordTransition' | 'recorded' | 'get'>;
  /**
   * Reads a referenced event from its stream message, decoded as the bridge decoded it;
   * undefined when the stream no longer holds that message. Absent on a worker without NATS.
   */
  loadMessage?: (ref: EventReference) => Promise<EventEnvelope | undefined>;
  processors: ProcessorRegistry;
  webhooks?: Pick<WebhookDeliverer, 'deliver' | 'matching' | 'claimsFor' | 'recordDelivered'>;
  /** Told when an event settles (completed, failed, discarded) in this process: frees its bridge place. */
  onSettled?: (eventId: string) => void;
  metrics?: Pick<WorkerMetrics, 'settled' | 'processed' | 'completed'>;
  /** One line per processed event, with the fields operators search by (never its data). */
  log?: Pick<Logger, 'info' | 'warn'>;
}
