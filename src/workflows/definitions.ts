import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EventEnvelope, EventStatus } from '../events/envelope.js';
import { SubscriberStateKey, SubscriberWaitingKey } from './subscriber-definitions.js';

// Shared by the workflow, the worker, the bridge and the API: the one place that names the
// workflow's signals, query, search attributes and input.

export const EVENT_WORKFLOW_TYPE = 'eventWorkflow';

export const EventStatusKey = defineSearchAttributeKey('EventStatus', SearchAttributeType.KEYWORD);
export const EventTypeKey = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
export const EventSourceKey = defineSearchAttributeKey('EventSource', SearchAttributeType.KEYWORD);
export const EventCategoryKey = defineSearchAttributeKey('EventCategory', SearchAttributeType.KEYWORD);
/** When EventStatus last changed: lets operators find events stuck in `processing`. */
export const EventStatusSinceKey = defineSearchAttributeKey('EventStatusSince', SearchAttributeType.DATETIME);
/** Every search attribute the service registers: the event workflow's, then the subscriber workflow's. */
export const SEARCH_ATTRIBUTE_KEYS = [
  EventStatusKey,
  EventTypeKey,
  EventSourceKey,
  EventCategoryKey,
  EventStatusSinceKey,
  SubscriberStateKey,
  SubscriberWaitingKey,
];

export interface RetrySettings {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

/** Where an event's stream message sits (as src/events/nats-event.ts's StreamPosition). */
export interface MessagePosition {
  stream: string;
  /** The stream's creation time: a recreated stream's sequence starts at 1 again. */
  streamCreated: string;
  seq: number;
}

/**
 * An event too big to travel in the workflow's input (over INLINE_EVENT_MAX_BYTES as JSON): the
 * fields operators filter and recognise it by, and where the first activity reads the rest —
 * its stream message, or, once stored, PostgreSQL. Temporal's share of an event stays this size.
 */
export type EventReference = Pick<
  EventEnvelope,
  'event_id' | 'event_type' | 'event_source' | 'event_category' | 'user_id' | 'session_id' | 'timestamp' | 'received_at'
> & {
  reference: {
    /** The envelope's size as JSON. */
    bytes: number;
    /** Its stream message; absent when the run starts from the stored event (an operator's reprocess of a closed one). */
    message?: MessagePosition;
  };
};

/** Envelopes up to this size (as JSON) travel in the workflow's input; bigger ones by reference. */
export const INLINE_EVENT_MAX_BYTES = 16 * 1024;

export const isEventReference = (event: EventEnvelope | EventReference): event is EventReference => 'reference' in event;

export interface EventWorkflowInput {
  /** The event itself, or, when it is big, a reference to it. */
  event: EventEnvelope | EventReference;
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
export function initialSearchAttributes(event: Pick<EventEnvelope, 'received_at' | 'event_type' | 'event_source' | 'event_category'>) {
  return [
    { key: EventStatusKey, value: 'pending' },
    { key: EventStatusSinceKey, value: new Date(event.received_at) },
    { key: EventTypeKey, value: event.event_type },
    { key: EventSourceKey, value: event.event_source },
    { key: EventCategoryKey, value: event.event_category },
  ];
}
