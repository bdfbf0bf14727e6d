import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { EventEnvelope } from '../events/envelope.js';
import {
  type EventReference,
  type EventWorkflowInput,
  INLINE_EVENT_MAX_BYTES,
  initialSearchAttributes,
  type MessagePosition,
  type OperatorRequest,
} from '../workflows/definitions.js';
import { eventWorkflow } from '../workflows/event-workflow.js';

export interface StartSettings {
  taskQueue: string;
  /** Ask for the first workflow task in the start's answer: the client must be on the worker's NativeConnection. */
  eager?: boolean;
  lifecycle: Pick<EventWorkflowInput, 'parkTimeoutMs'> & { retry: EventWorkflowInput['retry'] };
  /** The trace this start belongs to, kept in the memo for `GET /api/events/:id/status`. */
  traceId?: string;
}

/**
 * What the workflow's input carries of the event: the event itself, or, above
 * INLINE_EVENT_MAX_BYTES as JSON, a reference with the fields operators filter on, so that
 * Temporal's share of an event stays small whatever its size. `message`: where the stream holds
 * it (from the bridge); without it, the first activity reads the event from PostgreSQL.
 */
export function workflowEvent(event: EventEnvelope, message?: MessagePosition): EventEnvelope | EventReference {
  const bytes = Buffer.byteLength(JSON.stringify(event));
  if (bytes <= INLINE_EVENT_MAX_BYTES) return event;
  const { event_id, event_type, event_source, event_category, user_id, session_id, timestamp, received_at } = event;
  return {
    event_id,
    event_type,
    event_source,
    event_category,
    ...(user_id !== undefined && { user_id }),
    ...(session_id !== undefined && { session_id }),
    timestamp,
    received_at,
    reference: { bytes, ...(message && { message: { stream: message.stream, streamCreated: message.streamCreated, seq: message.seq } }) },
  };
}

/**
 * Starts a run of the event's workflow, keyed by the event id. The bridge rejects a duplicate id
 * (an event is processed once); only an operator's reprocess may run a closed event again.
 */
export function startEventRun(
  client: Client,
  event: EventEnvelope,
  settings: StartSettings,
  reuse: 'reject' | 'allow',
  operator?: OperatorRequest,
  message?: MessagePosition,
) {
  return client.workflow.start(eventWorkflow, {
    workflowId: event.event_id,
    taskQueue: settings.taskQueue,
    args: [
      {
        event: workflowEvent(event, message),
        retry: settings.lifecycle.retry,
        parkTimeoutMs: settings.lifecycle.parkTimeoutMs,
        ...(operator && { operator }),
      },
    ],
    workflowIdReusePolicy: reuse === 'reject' ? WorkflowIdReusePolicy.REJECT_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: initialSearchAttributes(event),
    ...(settings.eager && { requestEagerStart: true }),
    ...(settings.traceId && { memo: { trace_id: settings.traceId } }),
  });
}

/**
 * Starts the event's workflow. An event whose workflow already exists — running or closed — is a
 * duplicate: it is neither stored nor processed again. Returns false then.
 */
export async function startEventWorkflow(
  client: Client,
  event: EventEnvelope,
  settings: StartSettings,
  message?: MessagePosition,
): Promise<boolean> {
  try {
    await startEventRun(client, event, settings, 'reject', undefined, message);
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
