import { createHmac } from 'node:crypto';
import { context, propagation, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { type Dispatcher, request } from 'undici';
import type { EventEnvelope } from '../events/envelope.js';
import { cloudEventRequest } from './cloudevent-delivery.js';
import { checkDestination, destinationAgent, PrivateDestinationError, urlHost } from './destinations.js';
import { subjectMatches } from '../events/subject.js';
import type { SubscriptionCache } from '../store/subscriptions-cache.js';
import type { Subscription, SubscriptionsRepo } from '../store/subscriptions-repo.js';
import type { WorkerMetrics } from '../telemetry/worker-metrics.js';
import type { ClaimWanted, Delivered } from '../store/delivery-sql.js';
import {
  createSubscriberDelivery,
  type DeliveryFailure,
  type DeliveryResult,
  type SentOutcome,
  type SubscriberDeliveryDeps,
} from './subscriber-delivery.js';

export type { DeliveryFailure } from './subscriber-delivery.js';

// A claim outlives its sender's requests by this much: the time to record the outcomes once the
// answers are in. A sender that crashed holds its deliveries this long past its timeout.
const CLAIM_MARGIN_MS = 5_000;

// Answers worth retrying: the receiver is down, overloaded or slow. Any other 4xx means the
// receiver refuses this event, and asking again will not change its mind.
const RETRYABLE_4XX = new Set([408, 429]);

/**
 * Standard Webhooks (https://www.standardwebhooks.com): the signed content is
 * `${id}.${timestamp}.${body}`, so a captured request cannot be replayed later under a new time.
 * A `whsec_` secret is base64 after the prefix, as the standard's libraries expect; any other
 * secret is used as its UTF-8 bytes.
 */
export function standardWebhookHeaders(id: string, timestampSeconds: number, body: string, secret: string): Record<string, string> {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}

export interface WebhookDeps extends SubscriberDeliveryDeps {
  subscriptions: Pick<SubscriptionCache, 'list'>;
  deliveries: SubscriberDeliveryDeps['deliveries'] & Pick<SubscriptionsRepo, 'claim' | 'unclaim' | 'recordDelivered'>;
  /** Deliver to private, loopback and link-local addresses (development, tests). */
  allowPrivate: boolean;
  metrics?: Pick<WorkerMetrics, 'webhook'>;
  /** With tracing on: a client span per call, its context sent in `traceparent`. */
  tracer?: Tracer;
}

/**
 * Delivers an event to every matching subscriber that has not received it yet, all at once.
 * Each (event, subscriber) delivery keeps its own state in `webhook_deliveries`; one that fails
 * neither stops nor fails the others. Returns the failures, for the caller to retry or report.
 */
export function createWebhookDeliverer(deps: WebhookDeps) {
  const { subscriptions, deliveries, allowPrivate, metrics, tracer } = deps;
  const dispatcher = destinationAgent(allowPrivate);
  const deliverTo = createSubscriberDelivery(deps);
  // One lease for all of an attempt's claims: the deliveries made are recorded together once the
  // slowest subscriber has answered, so each claim must last as long as the longest request.
  const claimsFor = (subs: readonly Subscription[]): ClaimWanted[] => {
    const leaseMs = Math.max(0, ...subs.map((s) => deps.policyOf(s).timeoutMs)) + CLAIM_MARGIN_MS;
    return subs.map((s) => ({ id: s.id, leaseMs }));
  };
  const matching = async (subject: string) =>
    (await subscriptions.list()).filter((s) => s.subjects.some((p) => subjectMatches(p, subject)));
  async function attempt(
    s: Subscription,
    event: EventEnvelope,
    subject: string,
    timeoutMs: number,
    cancelled?: AbortSignal,
  ): Promise<SentOutcome> {
    const { body, headers: formatHeaders } =
      s.format === 'envelope'
        ? { body: JSON.stringify(event), headers: { 'content-type': 'application/json' } }
        : cloudEventRequest(event, s.format === 'cloudevents-binary' ? 'binary' : 'structured');
    const headers: Record<string, string> = {
      ...formatHeaders,
      'user-agent': 'event-service-webhooks',
      'x-event-id': event.event_id,
      'x-event-subject': subject,
      'x-event-type': event.event_type,
    };
    if (s.secret) {
      Object.assign(headers, standardWebhookHeaders(event.event_id, Math.floor(Date.now() / 1000), body, s.secret));
    }
    if (tracer) propagation.inject(context.active(), headers);
    let res: Dispatcher.ResponseData;
    try {
      // The agent checks names after resolution; an address written in the URL is checked here.
      if (urlHost(s.url).literal) await checkDestination(s.url, allowPrivate);
      const timeout = AbortSignal.timeout(timeoutMs);
      // undici's request, not fetch: it follows no redirect (a redirect to an address written in
      // its Location would skip the check above), and it is the lighter client per delivery.
      res = await request(s.url, {
        method: 'POST',
        headers,
        body,
        signal: cancelled ? AbortSignal.any([timeout, cancelled]) : timeout,
        ...(dispatcher && { dispatcher }),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      if (err instanceof PrivateDestinationError || cause instanceof PrivateDestinationError) {
        return { status: 'failed', error: `POST ${s.url} refused: ${(cause ?? (err as Error)).message}`, permanent: true };
      }
      return { status: 'pending', error: `POST ${s.url} failed: ${cause?.message ?? (err as Error).message}` };
    }
    await res.body.dump();
    const code = res.statusCode;
    if (code >= 200 && code < 300) return { status: 'delivered', responseCode: code };
    // A redirect is not followed: it fails like a 5xx, retried (the URL to subscribe is the final one).
    const permanent = code >= 400 && code < 500 && !RETRYABLE_4XX.has(code);
    return { status: permanent ? 'failed' : 'pending', responseCode: code, error: `POST ${s.url} answered ${code}`, permanent };
  }

  async function observed(
    s: Subscription,
    event: EventEnvelope,
    subject: string,
    timeoutMs: number,
    cancelled?: AbortSignal,
  ): Promise<SentOutcome> {
    const started = performance.now();
    if (!tracer) {
      const outcome = await attempt(s, event, subject, timeoutMs, cancelled);
      const seconds = (performance.now() - started) / 1000;
      metrics?.webhook(s.id, outcome.status, seconds);
      return { ...outcome, latencyMs: Math.round(seconds * 1000) };
    }
    // The URL's host only: a path or query may hold a subscriber's token.
    return tracer.startActiveSpan(
      'webhook POST',
      { kind: SpanKind.CLIENT, attributes: { 'server.address': urlHost(s.url).host, 'webhook.subscription': s.id } },
      async (span) => {
        try {
          const outcome = await attempt(s, event, subject, timeoutMs, cancelled);
          const seconds = (performance.now() - started) / 1000;
          metrics?.webhook(s.id, outcome.status, seconds);
          if (outcome.responseCode) span.setAttribute('http.response.status_code', outcome.responseCode);
          if (outcome.status !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.status });
          return { ...outcome, latencyMs: Math.round(seconds * 1000) };
        } finally {
          span.end();
        }
      },
    );
  }

  return {
    /**
     * `cancelled` aborts the requests in flight when the activity times out or is cancelled. Each
     * delivery is claimed before it is sent, so an attempt overlapping this one (a local activity
     * run again while this one still sends) skips it, failing with a retry due when the claim ends;
     * `claimed`: those the run's start has claimed already (begin.ts). The deliveries made are
     * returned for the caller to record with the event's completion; when another failed, the
     * event will not complete now, and they are recorded here.
     */
    async deliver(
      event: EventEnvelope,
      subject: string,
      cancelled?: AbortSignal,
      claimed: ReadonlySet<string> = new Set(),
    ): Promise<{ failures: DeliveryFailure[]; delivered: Delivered[] }> {
      const to = await matching(subject);
      // Claimed by the run's start for a subscription that no longer takes the subject: never sent.
      const gone = [...claimed].filter((id) => !to.some((s) => s.id === id));
      if (gone.length > 0) await deliveries.unclaim(event.event_id, gone);
      if (to.length === 0) return { failures: [], delivered: [] };
      const toClaim = claimsFor(to).filter((c) => !claimed.has(c.id));
      const claims = toClaim.length > 0 ? await deliveries.claim(event.event_id, event.received_at, toClaim) : new Map();
      const settled = await Promise.allSettled(
        to.map(async (s): Promise<DeliveryResult> => {
          const claim = claimed.has(s.id) ? { state: 'claimed' } : claims.get(s.id);
          if (claim?.state === 'claimed')
            return deliverTo(s, event, (sub, timeoutMs) => observed(sub, event, subject, timeoutMs, cancelled));
          if (claim?.state === 'in-flight') return { failure: inFlightElsewhere(s, claim.retryInMs) };
          return { handedOver: true }; // done already, or the subscription is gone
        }),
      );
      const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failures = results.flatMap((r) => ('failure' in r ? [r.failure] : []));
      const delivered = results.flatMap((r) => ('delivered' in r ? [r.delivered] : []));
      const thrown = settled.find((r) => r.status === 'rejected');
      if (failures.length === 0 && !thrown) return { failures, delivered };
      // The event will not complete now: what was delivered is recorded at once, or a retry would send it again.
      await deliveries.recordDelivered(event.event_id, event.received_at, delivered);
      if (thrown) throw thrown.reason;
      return { failures, delivered: [] };
    },
    /** Deliveries made that the event's completion could not record: recorded on their own (best effort before a retry). */
    recordDelivered: (event: EventEnvelope, delivered: readonly Delivered[]) =>
      deliveries.recordDelivered(event.event_id, event.received_at, delivered),
    /** The claims to take for these subscriptions' deliveries: each holds for the longest of their requests' timeouts and a margin. */
    claimsFor,
    /** The subscriptions that take events of this subject, as the cached list has them (as deliver() reads them). */
    matching,
    /** One attempt, as the subscriber workflow's drain sends a waiting delivery; the caller records it. */
    send: (s: Subscription, event: EventEnvelope, subject: string, timeoutMs: number, cancelled?: AbortSignal) =>
      observed(s, event, subject, timeoutMs, cancelled),
  };
}

export type WebhookDeliverer = ReturnType<typeof createWebhookDeliverer>;

/** Another attempt at the event is sending this delivery: this one retries when that claim ends. */
function inFlightElsewhere(s: Subscription, retryInMs: number | undefined): DeliveryFailure {
  return {
    subscriptionId: s.id,
    url: s.url,
    error: `POST ${s.url} is being sent by another attempt at this event`,
    permanent: false,
    ...(retryInMs !== undefined && { retryDelayMs: retryInMs + 100 }),
  };
}
