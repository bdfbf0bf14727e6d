import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getEventWorkflowStatus } from '../../temporal/event-status.js';
import type { AppDeps } from '../app.js';
import { dependencyDown, notFound } from '../errors.js';

const idParams = z.object({ id: z.uuid() });

export const eventRoutes: FastifyPluginAsyncZod<Pick<AppDeps, 'repo' | 'temporal' | 'config'>> = async (app, { repo, temporal, config }) => {
  app.get('/events/:id', { config: { scope: 'events:read' }, schema: { params: idParams } }, async (req) => {
    const event = await repo.get(req.params.id);
    if (!event) throw notFound(`event ${req.params.id}`);
    return event;
  });

  app.get('/events/:id/status', { config: { scope: 'events:read' }, schema: { params: idParams } }, async (req) => {
    const status = await getEventWorkflowStatus(temporal, req.params.id, config.temporal.uiUrl).catch((err: Error) => {
      throw dependencyDown('Temporal', err.message);
    });
    if (!status) throw notFound(`workflow for event ${req.params.id}`);
    return {
      event_id: req.params.id,
      status: status.status,
      attempts: status.attempts,
      last_error: status.lastError ?? null,
      transitions: status.transitions,
      workflow: {
        workflow_id: status.workflowId,
        run_id: status.runId,
        execution_status: status.executionStatus,
        start_time: status.startTime,
        close_time: status.closeTime ?? null,
      },
      temporal_ui_url: status.uiUrl,
    };
  });
};
