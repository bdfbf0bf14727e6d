import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { EventEnvelope } from '../events/envelope.js';
import { subjectMatches } from '../events/subject.js';
import type { Subscription, SubscriptionsRepo } from '../store/subscriptions-repo.js';
import type { Processor, ProcessorSource } from './processors.js';

// Answers worth retrying: the receiver is down, overloaded or slow. Any other 4xx means the
// receiver refuses this event, and asking again will not change its mind.
const RETRYABLE_4XX = new Set([408, 429]);

export const SIGNATURE_HEADER = 'x-event-signature';

export function sign(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Delivers events to webhook subscribers: one processor per matching subscription. */
export function createWebhookSource(deps: { subscriptions: Pick<SubscriptionsRepo, 'list' | 'wasDelivered' | 'recordDelivery'>; timeoutMs: number }): ProcessorSource {
  const deliverTo = (s: Subscription): Processor => ({
    name: `webhook:${s.id}`,
    subjects: s.subjects,
    async process(event: EventEnvelope, subject: string) {
      if (await deps.subscriptions.wasDelivered(event.event_id, s.id)) return;
      const body = JSON.stringify(event);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'event-service-webhooks',
        'x-event-id': event.event_id,
        'x-event-subject': subject,
        'x-event-type': event.event_type,
      };
      if (s.secret) headers[SIGNATURE_HEADER] = sign(body, s.secret);
      let res: Response;
      try {
        res = await fetch(s.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(deps.timeoutMs) });
      } catch (err) {
        throw new Error(`POST ${s.url} failed: ${(err as Error).message}`);
      }
      await res.body?.cancel();
      if (res.ok) {
        await deps.subscriptions.recordDelivery(event.event_id, s.id, res.status);
        return;
      }
      const message = `POST ${s.url} answered ${res.status}`;
      if (res.status >= 400 && res.status < 500 && !RETRYABLE_4XX.has(res.status)) {
        throw ApplicationFailure.nonRetryable(message, 'WebhookRejected');
      }
      throw new Error(message);
    },
  });

  return {
    async forSubject(subject: string): Promise<Processor[]> {
      const all = await deps.subscriptions.list();
      return all.filter((s) => s.subjects.some((p) => subjectMatches(p, subject))).map(deliverTo);
    },
  };
}
