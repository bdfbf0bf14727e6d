import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type OperatorDeps, type OperatorOutcome, discardEvent, reprocessEvent, reprocessMatching } from '../../temporal/operator.js';
import { visibilityQuery, visibilityUiUrl } from '../../temporal/visibility.js';
import { storableText } from '../../events/envelope.js';
import type { OperatorRequest } from '../../workflows/definitions.js';
import type { AppDeps } from '../app-deps.js';
import { HttpError, notFound } from '../errors.js';
import { eventFilter } from './visibility.js';

const idParams = z.object({ id: z.uuid() });
// Optional: `curl -XPOST .../reprocess` with no body at all is a valid request.
const reasonBody = z.strictObject({ reason: storableText.max(500).optional() }).nullish();
const bulkBody = eventFilter.extend({
  dry_run: z.boolean().default(false),
  limit: z.number().int().positive().max(10_000).default(1_000),
});

function operatorRequest(reason: string | undefined, actor: string | undefined): OperatorRequest {
  return { ...(reason && { reason }), ...(actor && { actor }) };
}

function answer(eventId: string, result: OperatorOutcome, action: string) {
  if (result.outcome === 'not_found') throw notFound(`event ${eventId}`);
  if (result.outcome === 'conflict') {
    throw new HttpError(
      409,
      'conflict',
      `event ${eventId} is ${result.status}; only a failed event can be ${action} while its workflow runs`,
      { status: result.status },
    );
  }
  return { event_id: eventId, outcome: result.outcome, run_id: result.run_id };
}

export const operatorRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { temporal, repo, config }) => {
  const deps: OperatorDeps = {
    client: temporal,
    loadEvent: (id) => repo.get(id),
    start: { taskQueue: config.temporal.taskQueue, lifecycle: config.lifecycle },
  };
  const admin = { scope: 'events:admin' } as const;

  app.post('/events/:id/reprocess', { config: admin, schema: { params: idParams, body: reasonBody } }, async (req, reply) =>
    reply
      .code(202)
      .send(
        answer(
          req.params.id,
          await reprocessEvent(deps, req.params.id, operatorRequest(req.body?.reason, req.tokenSubject)),
          'reprocessed',
        ),
      ),
  );

  app.post('/events/:id/discard', { config: admin, schema: { params: idParams, body: reasonBody } }, async (req, reply) =>
    reply
      .code(202)
      .send(
        answer(req.params.id, await discardEvent(deps, req.params.id, operatorRequest(req.body?.reason, req.tokenSubject)), 'discarded'),
      ),
  );

  app.post('/events/reprocess', { config: admin, schema: { body: bulkBody } }, async (req, reply) => {
    const { dry_run, limit, ...filter } = req.body;
    const query = visibilityQuery(filter);
    const follow = {
      status_summary: '/api/events/status-summary',
      temporal_ui: visibilityUiUrl(config.temporal.uiUrl, config.temporal.namespace, query),
    };
    if (dry_run) {
      const { count } = await temporal.workflow.count(query);
      return reply.send({ dry_run: true, matched: count, query, follow });
    }
    const result = await reprocessMatching(deps, query, {
      ...(filter.status && { status: filter.status }),
      limit,
      request: operatorRequest('bulk reprocess', req.tokenSubject),
    });
    return reply.code(202).send({ dry_run: false, ...result, query, follow });
  });
};
