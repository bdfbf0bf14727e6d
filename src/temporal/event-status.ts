import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { EventStatusKey, type EventWorkflowState, statusQuery } from '../workflows/definitions.js';
import { workflowUiUrl } from './client.js';

export interface EventWorkflowStatus {
  /** The workflow's own answer to the `status` query; absent when no worker could answer. */
  state?: EventWorkflowState;
  queryError?: string;
  /** EventStatus as visibility has it. */
  searchAttributeStatus: string;
  workflowId: string;
  runId: string;
  executionStatus: string;
  startTime: string;
  closeTime?: string;
  uiUrl: string;
  /** The trace the bridge started this run in (tracing on only). */
  traceId?: string;
}

/**
 * The event's workflow as Temporal knows it, with the workflow's own `status` query when a
 * worker can answer (the error when not). Undefined when there is no such workflow.
 */
export async function getEventWorkflowStatus(client: Client, eventId: string, uiUrl: string): Promise<EventWorkflowStatus | undefined> {
  const handle = client.workflow.getHandle(eventId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const queried = await handle.query(statusQuery).then(
    (state) => ({ state }),
    (err: Error) => ({ queryError: err.message }),
  );
  return {
    ...queried,
    searchAttributeStatus: description.typedSearchAttributes.get(EventStatusKey) ?? 'pending',
    workflowId: description.workflowId,
    runId: description.runId,
    executionStatus: description.status.name,
    startTime: description.startTime.toISOString(),
    ...(description.closeTime && { closeTime: description.closeTime.toISOString() }),
    uiUrl: workflowUiUrl(uiUrl, client.options.namespace, description.workflowId, description.runId),
    ...(typeof description.memo?.trace_id === 'string' && { traceId: description.memo.trace_id }),
  };
}
