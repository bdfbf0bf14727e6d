import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { EventEnvelope } from '../events/envelope.js';
import { discardSignal, EventStatusKey, type OperatorRequest, reprocessSignal, statusQuery } from '../workflows/definitions.js';
import { type StartSettings, startEventRun } from './start-event-workflow.js';

// Operator actions on one event. A parked (running, failed) workflow is signalled; a closed one
// (completed, discarded, or parked too long) gets a new run with the same workflow id, started
// from the event as stored in PostgreSQL.

export type OperatorOutcome =
  | { outcome: 'signalled'; run_id: string }
  | { outcome: 'restarted'; run_id: string }
  | { outcome: 'not_found' }
  | { outcome: 'conflict'; status: string };

export interface OperatorDeps {
  client: Client;
  loadEvent(eventId: string): Promise<EventEnvelope | undefined>;
  start: StartSettings;
}

async function latestRun(client: Client, eventId: string) {
  try {
    const d = await client.workflow.getHandle(eventId).describe();
    const published = d.typedSearchAttributes.get(EventStatusKey) ?? 'pending';
    if (d.status.name !== 'RUNNING') return { runId: d.runId, running: false, status: published };
    // EventStatus is upserted when a workflow task ends, PostgreSQL is written during it: an
    // operator who just saw `failed` in the store may ask before the upsert. The workflow's own
    // answer waits for that task and is never behind; without a worker to answer, the attribute.
    const status = await client.workflow
      .getHandle(eventId, d.runId)
      .query(statusQuery)
      .then(
        (s) => s.status,
        () => published,
      );
    return { runId: d.runId, running: true, status };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** `onlyIf`: act only when the latest run has this status (bulk reprocess), else a conflict. */
export async function reprocessEvent(
  deps: OperatorDeps,
  eventId: string,
  request: OperatorRequest = {},
  onlyIf?: string,
): Promise<OperatorOutcome> {
  const run = await latestRun(deps.client, eventId);
  if (onlyIf && run && run.status !== onlyIf) return { outcome: 'conflict', status: run.status };
  if (run?.running) {
    if (run.status !== 'failed') return { outcome: 'conflict', status: run.status };
    await deps.client.workflow.getHandle(eventId, run.runId).signal(reprocessSignal, request);
    return { outcome: 'signalled', run_id: run.runId };
  }
  const event = await deps.loadEvent(eventId);
  if (!event) return { outcome: 'not_found' };
  try {
    const handle = await startEventRun(deps.client, event, deps.start, 'allow', request);
    return { outcome: 'restarted', run_id: handle.firstExecutionRunId };
  } catch (err) {
    // Another reprocess of the same event started its new run first: this one is running now.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'conflict', status: 'processing' };
    throw err;
  }
}

export async function discardEvent(
  deps: Pick<OperatorDeps, 'client'>,
  eventId: string,
  request: OperatorRequest = {},
): Promise<OperatorOutcome> {
  const run = await latestRun(deps.client, eventId);
  if (!run) return { outcome: 'not_found' };
  if (!run.running || run.status !== 'failed') return { outcome: 'conflict', status: run.status };
  await deps.client.workflow.getHandle(eventId, run.runId).signal(discardSignal, request);
  return { outcome: 'signalled', run_id: run.runId };
}

/**
 * Reprocesses every event the visibility query matches, at most `limit`. Visibility lists every
 * run, so each event id is handled once, and only if its latest run still has the status asked
 * for (an older, closed run of an event since reprocessed must not trigger it again).
 */
export async function reprocessMatching(
  deps: OperatorDeps,
  query: string,
  opts: { status?: string; limit: number; concurrency?: number; request?: OperatorRequest },
) {
  const seen = new Set<string>();
  const tally = { signalled: 0, restarted: 0, skipped: 0 };
  const queue: string[] = [];
  for await (const wf of deps.client.workflow.list({ query })) {
    if (seen.has(wf.workflowId)) continue;
    seen.add(wf.workflowId);
    queue.push(wf.workflowId);
    if (queue.length >= opts.limit) break;
  }
  const work = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const result = await reprocessEvent(deps, id, opts.request ?? { reason: 'bulk reprocess' }, opts.status);
      if (result.outcome === 'signalled' || result.outcome === 'restarted') tally[result.outcome]++;
      else tally.skipped++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, work));
  return { matched: seen.size, ...tally };
}
