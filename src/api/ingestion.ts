import type { FastifyRequest } from 'fastify';
import { type ItemBuilder, type ItemError, type ItemResult, planBatch } from '../events/batch-plan.js';
import { type ClientInfo, createClientInfoReader } from '../events/client-info.js';
import type { EventEnvelope } from '../events/envelope.js';
import { createRedactor } from '../events/redact.js';
import { isStorableTime } from '../events/storable.js';
import type { AppDeps } from './app-deps.js';
import { HttpError } from './errors.js';

// The one ingestion path behind every way in over HTTP (our frontend batches, the Segment API,
// CloudEvents): what a request's events share, the last checks and the redaction before
// publishing, and a batch published at once with one answer per position, answered only once
// JetStream acknowledged every valid event. Each route only turns its protocol's items into
// envelopes and shapes its own answer.

/** What every event of one request shares. */
export interface RequestFacts {
  receivedAt: Date;
  client: ClientInfo;
  /** The app of the write key the request was authenticated with, if any. */
  app?: string;
  maxFutureSkewMs: number;
}

export interface BatchAnswer {
  results: Exclude<ItemResult, { status: 'failed' }>[];
  accepted: number;
  duplicates: number;
  rejected: number;
}

export const invalid = (message: string, details: unknown) => new HttpError(400, 'validation_error', message, details);

export function createIngestion({ publisher, config }: Pick<AppDeps, 'publisher' | 'config'>) {
  const redact = createRedactor(config.sensitiveFields);
  const readClient = createClientInfoReader();

  return {
    facts(req: FastifyRequest): RequestFacts {
      // req.ip follows X-Forwarded-For only from TRUSTED_PROXIES (Fastify's trustProxy, set in buildApp).
      const client = readClient({ ip: req.ip, headers: req.headers });
      const app = req.writeKeyApp;
      return { receivedAt: new Date(), client, ...(app && { app }), maxFutureSkewMs: config.ingest.maxFutureSkewMs };
    },

    /**
     * The checks no schema can make, then redaction. `sentField` names the field that carried the
     * client's send time: correcting the clock skew with it can move a time out of any storable range.
     * Errors met while building the envelope pass through.
     */
    finish(event: EventEnvelope | ItemError[], sentField = 'sent_at'): EventEnvelope | ItemError[] {
      if (Array.isArray(event)) return event;
      if (!isStorableTime(event.timestamp)) {
        return [
          {
            path: sentField,
            message: `correcting the clock skew gives ${event.timestamp}, which is not a time from year 1 to 9999: check the event's time and ${sentField}`,
          },
        ];
      }
      event.data = redact(event.data);
      event.metadata = redact(event.metadata);
      return event;
    },

    /** One event; resolves once JetStream stored it (the error plugin answers 503/413 otherwise). */
    async publishOne(req: FastifyRequest, event: EventEnvelope): Promise<{ subject: string; duplicate: boolean }> {
      const { subject, duplicate } = await publisher.publish(event);
      req.log.debug({ eventId: event.event_id, subject, duplicate }, 'event accepted');
      return { subject, duplicate };
    },

    /**
     * Builds every item, publishes the valid ones at once and answers for each position. Throws
     * 400 when no item is valid, 413 when none fits in a stream message, and 503 with every
     * position's result when JetStream did not store some of them: a client resends those (or
     * all: their ids deduplicate).
     */
    async publishBatch(req: FastifyRequest, items: readonly unknown[], build: ItemBuilder): Promise<BatchAnswer> {
      const plan = planBatch(items, build);
      req.rejectedEvents = plan.rejected.length;
      if (plan.toPublish.length === 0) {
        throw invalid(
          'no event in the batch is valid',
          plan.rejected.map(({ index, errors }) => ({ index, errors })),
        );
      }
      const results = plan.settle(await publisher.publishMany(plan.toPublish));
      if (!results.some((r) => r.status === 'accepted' || r.status === 'duplicate' || r.status === 'failed')) {
        // Every valid event turned out too large for a stream message once enriched.
        throw new HttpError(413, 'payload_too_large', 'no event of the batch fits in a stream message once enriched', results);
      }
      const settled = results.filter((r): r is Exclude<ItemResult, { status: 'failed' }> => r.status !== 'failed');
      const count = (status: string) => results.filter((r) => r.status === status).length;
      const answer = { results: settled, accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected') };
      req.rejectedEvents = answer.rejected;
      const failed = results.length - settled.length;
      if (failed > 0) {
        const details = { ...answer, results, failed };
        throw new HttpError(
          503,
          'stream_unavailable',
          `${failed} of the batch's events could not be stored durably; retry them later`,
          details,
          5,
        );
      }
      if (req.log.level === 'debug' || req.log.level === 'trace') {
        req.log.debug({ ...answer, results: undefined, eventIds: plan.toPublish.map((e) => e.event_id) }, 'batch accepted');
      }
      return answer;
    },
  };
}

export type Ingestion = ReturnType<typeof createIngestion>;
