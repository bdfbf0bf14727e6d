import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EventEnvelope, EventStatus } from '../events/envelope.js';

// Shared by the workflow, the worker, the bridge and the API: the one place that names the
// workflow's signals, query, search attributes and input.

export const EVENT_WORKFLOW_TYPE = 'eventWorkflow';

export const EventStatusKey = defineSearchAttributeKey('EventStatus', SearchAttributeType.KEYWORD);
export const EventTypeKey = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
export const EventSourceKey = defineSearchAttributeKey('EventSource', SearchAttributeType.KEYWORD);
export const EventCategoryKey = defineSearchAttributeKey('EventCategory', SearchAttributeType.KEYWORD);
/** When EventStatus last changed: lets operators find events stuck in `processing`. */
export const EventStatusSinceKey = defineSearchAttributeKey('EventStatusSince', SearchAttributeType.DATETIME);
export const SEARCH_ATTRIBUTE_KEYS = [EventStatusKey, EventTypeKey, EventSourceKey, EventCategoryKey, EventStatusSinceKey];

export interface RetrySettings {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

export interface EventWorkflowInput {
  event: EventEnvelope;
  retry: RetrySettings;
  /** How long a failed event waits for an operator before the workflow closes as failed. */
  parkTimeoutMs: number;
  /** Set when an operator's reprocess started this run (the event's earlier run had closed). */
  operator?: OperatorRequest;
}

export interface TransitionRecord {
  status: EventStatus;
  at: string;
  attempts: number;
  error?: string;
  /** Operator actions: why, and who asked (the token subject). */
  reason?: string;
  actor?: string;
}

export interface EventWorkflowState {
  eventId: string;
  status: EventStatus;
  attempts: number;
  lastError?: string;
  transitions: TransitionRecord[];
}

/** What an operator's signal carries: kept in the transition it causes. */
export interface OperatorRequest {
  reason?: string;
  actor?: string;
}

export const reprocessSignal = defineSignal<[OperatorRequest?]>('reprocess');
export const discardSignal = defineSignal<[OperatorRequest?]>('discard');
export const statusQuery = defineQuery<EventWorkflowState>('status');

/** Search attributes a workflow starts with: everything an operator filters on. */
export function initialSearchAttributes(event: EventEnvelope) {
  return [
    { key: EventStatusKey, value: 'pending' },
    { key: EventStatusSinceKey, value: new Date(event.received_at) },
    { key: EventTypeKey, value: event.event_type },
    { key: EventSourceKey, value: event.event_source },
    { key: EventCategoryKey, value: event.event_category },
  ];
}
