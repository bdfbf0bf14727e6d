import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventStatus } from '../events/envelope.js';
import { LATENCY_BUCKETS, METRIC_PREFIX } from './registry.js';

export type BridgeOutcome = 'started' | 'duplicate' | 'dead_lettered' | 'retry';
export type WebhookOutcome = 'delivered' | 'pending' | 'failed';

// A scrape waits at most this long for the consumer's info (NATS may be away).
const SCRAPE_WAIT_MS = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface BridgeGauges {
  health(): { inProgress: number };
  backlog(): Promise<{ pending: number; ackPending: number }>;
}

/**
 * The worker's own figures. Labels come from short fixed lists, plus the webhook subscription
 * id (operators create subscriptions; there are few): never an event id or user id.
 */
export function createWorkerMetrics(registry: Registry) {
  const registers = [registry];
  const bridgeMessages = new Counter({
    name: `${METRIC_PREFIX}bridge_messages_total`,
    help: 'Stream messages the bridge settled, by outcome: started, duplicate (workflow already there), retry (redelivered later), dead_lettered',
    labelNames: ['outcome'],
    registers,
  });
  const settled = new Counter({
    name: `${METRIC_PREFIX}events_settled_total`,
    help: 'Events that reached a settled status in this worker: completed, failed (parked), discarded',
    labelNames: ['status'],
    registers,
  });
  const processing = new Histogram({
    name: `${METRIC_PREFIX}processing_duration_seconds`,
    help: 'Duration of one processing attempt (processors and webhook deliveries), by outcome',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const endToEnd = new Histogram({
    name: `${METRIC_PREFIX}event_e2e_latency_seconds`,
    help: 'Time from the event being received (received_at) to its completed transition',
    labelNames: ['source'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const webhooks = new Counter({
    name: `${METRIC_PREFIX}webhook_deliveries_total`,
    help: 'Webhook delivery attempts by subscription and outcome: delivered, pending (will be retried), failed (refused for good)',
    labelNames: ['subscription', 'outcome'],
    registers,
  });
  const webhookLatency = new Histogram({
    name: `${METRIC_PREFIX}webhook_delivery_duration_seconds`,
    help: 'Duration of one webhook delivery attempt',
    buckets: LATENCY_BUCKETS.slice(0, 13),
    registers,
  });
  const outcomes = {
    started: bridgeMessages.labels('started'),
    duplicate: bridgeMessages.labels('duplicate'),
    dead_lettered: bridgeMessages.labels('dead_lettered'),
    retry: bridgeMessages.labels('retry'),
  };
  const processed = { ok: processing.labels('ok'), error: processing.labels('error') };

  return {
    registry,
    bridgeOutcome(outcome: BridgeOutcome): void {
      outcomes[outcome].inc();
    },
    settled(status: EventStatus): void {
      settled.labels(status).inc();
    },
    processed(ok: boolean, seconds: number): void {
      (ok ? processed.ok : processed.error).observe(seconds);
    },
    completed(source: string, receivedAt: string): void {
      endToEnd.labels(source).observe(Math.max(0, Date.now() - Date.parse(receivedAt)) / 1000);
    },
    webhook(subscription: string, outcome: WebhookOutcome, seconds: number): void {
      webhooks.labels(subscription, outcome).inc();
      webhookLatency.observe(seconds);
    },
    /**
     * Each subscriber's state (1 for the state it is in) and its waiting deliveries, read from
     * PostgreSQL when scraped; every worker reports the same figures, so take `max`.
     */
    watchSubscribers(read: () => Promise<{ id: string; state: string; waiting: number }[]>): void {
      const states = ['active', 'paused', 'disabled'];
      const state = new Gauge({
        name: `${METRIC_PREFIX}subscriber_state`,
        help: "A webhook subscriber's state: 1 for the one it is in (active, paused, disabled), 0 for the others",
        labelNames: ['subscription', 'state'],
        registers,
        collect: () => refresh(),
      });
      const waiting = new Gauge({
        name: `${METRIC_PREFIX}subscriber_waiting_deliveries`,
        help: 'Deliveries waiting for a webhook subscriber (paused, or draining after a resume)',
        labelNames: ['subscription'],
        registers,
        collect: () => refresh(),
      });
      // A scrape collects every metric at once: both gauges share one read.
      let reading: Promise<void> | undefined;
      const refresh = () =>
        (reading ??= (async () => {
          // A scrape while PostgreSQL is away must still answer: the gauges keep their last values.
          const rows = await withTimeout(read(), SCRAPE_WAIT_MS).catch(() => undefined);
          if (!rows) return;
          state.reset();
          waiting.reset();
          for (const r of rows) {
            waiting.set({ subscription: r.id }, r.waiting);
            for (const s of states) state.set({ subscription: r.id, state: s }, r.state === s ? 1 : 0);
          }
        })().finally(() => (reading = undefined)));
    },
    /** The bridge's gauges, read when scraped. */
    watchBridge(bridge: BridgeGauges): void {
      new Gauge({
        name: `${METRIC_PREFIX}bridge_in_progress`,
        help: 'Events the bridge started that have not settled yet (bounded by BRIDGE_MAX_IN_PROGRESS)',
        registers,
        collect() {
          this.set(bridge.health().inProgress);
        },
      });
      const backlog = new Gauge({
        name: `${METRIC_PREFIX}bridge_consumer_messages`,
        help: "The bridge consumer's backlog: pending (in the stream, not yet delivered) and ack_pending (delivered, not yet acked)",
        labelNames: ['state'],
        registers,
        async collect() {
          // A scrape while NATS is down must still answer: the gauge keeps its last value.
          const b = await withTimeout(bridge.backlog(), SCRAPE_WAIT_MS).catch(() => undefined);
          if (!b) return;
          backlog.set({ state: 'pending' }, b.pending);
          backlog.set({ state: 'ack_pending' }, b.ackPending);
        },
      });
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
