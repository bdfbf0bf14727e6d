import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { EventEnvelope } from '../events/envelope.js';
import { type EventWorkflowInput, initialSearchAttributes } from '../workflows/definitions.js';
import { eventWorkflow } from '../workflows/event-workflow.js';

export interface StartSettings {
  taskQueue: string;
  lifecycle: Pick<EventWorkflowInput, 'parkTimeoutMs'> & { retry: EventWorkflowInput['retry'] };
}

/**
 * Starts the event's workflow, keyed by its id. An event whose workflow already exists — running
 * or closed — is a duplicate: it is neither stored nor processed again. Returns false then.
 */
export async function startEventWorkflow(client: Client, event: EventEnvelope, settings: StartSettings): Promise<boolean> {
  try {
    await client.workflow.start(eventWorkflow, {
      workflowId: event.event_id,
      taskQueue: settings.taskQueue,
      args: [{ event, retry: settings.lifecycle.retry, parkTimeoutMs: settings.lifecycle.parkTimeoutMs }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: initialSearchAttributes(event),
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
