import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

// What a completed workflow leaves in Temporal: its history's events, and its size as Temporal
// stores and sends it (the protobuf encoding of the history, payloads as they are: encrypted).

export interface HistorySizes {
  events: number[];
  bytes: number[];
}

const { temporal } = proto;
const CLOSED = new Set([
  temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
]);

/** The histories of the given workflows (each waited for until it closed: an event is completed in PostgreSQL just before its workflow's task ends). */
export async function historySizes(client: Client, workflowIds: string[]): Promise<HistorySizes> {
  const sizes: HistorySizes = { events: [], bytes: [] };
  for (const id of workflowIds) {
    for (let attempt = 0; ; attempt++) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const events = history.events ?? [];
      if (!CLOSED.has(events.at(-1)?.eventType as never) && attempt < 40) {
        await sleep(250);
        continue;
      }
      sizes.events.push(events.length);
      sizes.bytes.push(temporal.api.history.v1.History.encode(history).finish().length);
      break;
    }
  }
  return sizes;
}
