import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getEventWorkflowStatus } from '../../temporal/event-status.js';
import { createSubscriptionsRepo } from '../../store/subscriptions-repo.js';
import type { AppDeps } from '../app-deps.js';
import { dependencyDown, notFound } from '../errors.js';

const idParams = z.object({ id: z.uuid() });

export const eventRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'repo' | 'pool' | 'temporal' | 'config'>> = async (
  app,
  { repo, pool, temporal, config },
) => {
  const subscriptions = createSubscriptionsRepo(pool);
  app.get('/events/:id', { config: { scope: 'events:read' }, schema: { params: idParams } }, async (req) => {
    const event = await repo.get(req.params.id, req.fieldView);
    if (!event) throw notFound(`event ${req.params.id}`);
    return event;
  });

  app.get('/events/:id/status', { config: { scope: 'events:read' }, schema: { params: idParams } }, async (req) => {
    const id = req.params.id;
    const [status, deliveries] = await Promise.all([
      getEventWorkflowStatus(temporal, id, config.temporal.uiUrl).catch((err: Error) => {
        throw dependencyDown('Temporal', err.message);
      }),
      subscriptions.deliveries(id),
    ]);
    if (!status) throw notFound(`workflow for event ${id}`);
    // When no worker can answer the workflow's query, PostgreSQL's copy of every transition
    // answers instead, and the answer says so: never a made-up "0 attempts".
    const answer = status.state
      ? {
          source: 'workflow' as const,
          status: status.state.status,
          attempts: status.state.attempts,
          last_error: status.state.lastError ?? null,
          transitions: status.state.transitions,
        }
      : await fromDatabase(id, status.queryError);
    return {
      event_id: id,
      ...answer,
      deliveries,
      workflow: {
        workflow_id: status.workflowId,
        run_id: status.runId,
        execution_status: status.executionStatus,
        start_time: status.startTime,
        close_time: status.closeTime ?? null,
        event_status_attribute: status.searchAttributeStatus,
      },
      temporal_ui_url: status.uiUrl,
      trace_id: status.traceId ?? null,
    };
  });

  async function fromDatabase(id: string, queryError: string | undefined) {
    const [stored, history] = await Promise.all([repo.get(id), repo.history(id)]);
    return {
      source: 'database' as const,
      query_error: queryError ?? 'the workflow did not answer',
      status: stored?.status ?? 'pending',
      attempts: stored?.attempts ?? 0,
      last_error: stored?.last_error ?? null,
      transitions: history.map(({ runId: _run, seq: _seq, ...t }) => t),
    };
  }
};
