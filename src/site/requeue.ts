import type { JetStreamClient } from '@nats-io/jetstream';
import { SETTLED_STATUSES } from '../events/envelope.js';
import { subjectFor } from '../events/subject.js';
import { createEventsRepo } from '../store/events-repo.js';
import type { Pool } from '../store/pool.js';

// The events a promoted site's store holds unsettled: in progress at the lost site when it went.
// Those the mirror lacks (the store's replica ran ahead of it) are queued again from the store.

export async function unsettledIds(pool: Pool): Promise<Set<string>> {
  const { rows } = await pool.query<{ event_id: string }>('SELECT event_id::text FROM events WHERE status <> ALL($1)', [SETTLED_STATUSES]);
  return new Set(rows.map((r) => r.event_id));
}

/** Publishes each event from its stored row, as the API would have: the bridge starts its run again. */
export async function requeueFromStore(js: JetStreamClient, pool: Pool, ids: Set<string>): Promise<number> {
  const repo = createEventsRepo(pool);
  let queued = 0;
  for (const id of ids) {
    const stored = await repo.get(id);
    if (!stored) continue;
    const { event_id, event_type, event_source, event_category, user_id, session_id, data, metadata, timestamp, received_at } = stored;
    const envelope = { event_id, event_type, event_source, event_category, user_id, session_id, data, metadata, timestamp, received_at };
    const subject = subjectFor({ source: event_source, category: event_category, eventType: event_type });
    await js.publish(subject, JSON.stringify(envelope), { msgID: event_id, timeout: 10_000 });
    queued++;
  }
  return queued;
}
