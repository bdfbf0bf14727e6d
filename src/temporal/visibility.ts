import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import { EVENT_STATUSES, type EventStatus } from '../events/envelope.js';
import {
  EVENT_WORKFLOW_TYPE,
  EventCategoryKey,
  EventSourceKey,
  EventStatusKey,
  EventStatusSinceKey,
  EventTypeKey,
} from '../workflows/definitions.js';

// Status questions over many events are answered by Temporal visibility (search attributes),
// never by scanning PostgreSQL. Every value put into a query is validated by the caller's zod
// schema (tokens, enums, ISO dates) and quoted here, so no input can change the query's shape.

export interface EventFilter {
  status?: EventStatus | readonly EventStatus[];
  event_type?: string;
  source?: string;
  category?: string;
  since?: string;
  until?: string;
  /** Only events whose status has not changed since before this time. */
  status_before?: string;
  running?: boolean;
}

const quote = (v: string) => `'${v.replace(/[\\']/g, '\\$&')}'`;

export function visibilityQuery(f: EventFilter): string {
  const clauses = [`WorkflowType = ${quote(EVENT_WORKFLOW_TYPE)}`];
  if (typeof f.status === 'string') clauses.push(`${EventStatusKey.name} = ${quote(f.status)}`);
  else if (f.status) clauses.push(`${EventStatusKey.name} IN (${f.status.map(quote).join(', ')})`);
  if (f.event_type) clauses.push(`${EventTypeKey.name} = ${quote(f.event_type)}`);
  if (f.source) clauses.push(`${EventSourceKey.name} = ${quote(f.source)}`);
  if (f.category) clauses.push(`${EventCategoryKey.name} = ${quote(f.category)}`);
  if (f.since) clauses.push(`StartTime >= ${quote(new Date(f.since).toISOString())}`);
  if (f.until) clauses.push(`StartTime <= ${quote(new Date(f.until).toISOString())}`);
  if (f.status_before) clauses.push(`${EventStatusSinceKey.name} < ${quote(new Date(f.status_before).toISOString())}`);
  if (f.running) clauses.push(`ExecutionStatus = 'Running'`);
  return clauses.join(' AND ');
}

export interface EventExecution {
  event_id: string;
  run_id: string;
  status: string | null;
  status_since: string | null;
  event_type: string | null;
  source: string | null;
  category: string | null;
  execution_status: string;
  start_time: string | null;
  close_time: string | null;
}

const EXECUTION_STATUS = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'];
const toIso = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t?.seconds != null ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : null;

/** One page of matching workflows, with Temporal's opaque page token (base64url) for the next. */
export async function listEventExecutions(client: Client, query: string, pageSize: number, pageToken?: string) {
  const res = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query,
    pageSize,
    ...(pageToken && { nextPageToken: Buffer.from(pageToken, 'base64url') }),
  });
  const items: EventExecution[] = (res.executions ?? []).map((e) => {
    const attrs = decodeTypedSearchAttributes(e.searchAttributes?.indexedFields);
    return {
      event_id: e.execution?.workflowId ?? '',
      run_id: e.execution?.runId ?? '',
      status: attrs.get(EventStatusKey) ?? null,
      status_since: attrs.get(EventStatusSinceKey)?.toISOString() ?? null,
      event_type: attrs.get(EventTypeKey) ?? null,
      source: attrs.get(EventSourceKey) ?? null,
      category: attrs.get(EventCategoryKey) ?? null,
      execution_status: EXECUTION_STATUS[e.status ?? 0] ?? 'UNSPECIFIED',
      start_time: toIso(e.startTime),
      close_time: toIso(e.closeTime),
    };
  });
  const next = res.nextPageToken && res.nextPageToken.length > 0 ? Buffer.from(res.nextPageToken).toString('base64url') : null;
  return { items, next_page_token: next };
}

/** Count of events per status (one visibility Count each; Temporal groups only by ExecutionStatus). */
export async function statusSummary(client: Client, filter: Omit<EventFilter, 'status'> = {}) {
  const counts = await Promise.all(
    EVENT_STATUSES.map(async (status) => [status, (await client.workflow.count(visibilityQuery({ ...filter, status }))).count] as const),
  );
  return Object.fromEntries(counts) as Record<EventStatus, number>;
}

export function visibilityUiUrl(uiUrl: string, namespace: string, query: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}
