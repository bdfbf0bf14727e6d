import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { EventStatusKey, type EventWorkflowState, statusQuery } from '../workflows/definitions.js';
import { workflowUiUrl } from './client.js';

export interface EventWorkflowStatus extends EventWorkflowState {
  workflowId: string;
  runId: string;
  executionStatus: string;
  startTime: string;
  closeTime?: string;
  uiUrl: string;
}

/**
 * The event's status as Temporal knows it: the workflow's own `status` query when a worker can
 * answer, else the EventStatus search attribute. Undefined when there is no such workflow.
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
  const fromAttributes: EventWorkflowState = {
    eventId,
    status: (description.typedSearchAttributes.get(EventStatusKey) ?? 'pending') as EventWorkflowState['status'],
    attempts: 0,
    transitions: [],
  };
  const state = await handle.query(statusQuery).catch(() => fromAttributes);
  return {
    ...state,
    workflowId: description.workflowId,
    runId: description.runId,
    executionStatus: description.status.name,
    startTime: description.startTime.toISOString(),
    ...(description.closeTime && { closeTime: description.closeTime.toISOString() }),
    uiUrl: workflowUiUrl(uiUrl, client.options.namespace, description.workflowId, description.runId),
  };
}
