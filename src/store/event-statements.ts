import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { EventEnvelope, EventStatus } from '../events/envelope.js';
import { toStorableText } from '../events/storable.js';
import { CLAIM_DELIVERIES, type Delivered, deliveredValues, RECORD_DELIVERED } from './delivery-sql.js';
import { COUNT_INTO_READ_MODELS, eventAsSource, identityValues } from './read-model-sql.js';
import type { Client } from './transaction.js';

// The event store's writing statements (events-repo.ts runs them): the values an event is stored
// with, the claim of its id, the run's start and a transition.

export interface Transition {
  eventId: string;
  runId: string;
  seq: number;
  status: EventStatus;
  attempts: number;
  error?: string;
  /** Operator actions: why, and who asked (the token subject). */
  reason?: string;
  actor?: string;
  at: string;
}

// Error text can quote what a receiver or the database said, NUL included: a transition must
// never be refused for its message, or the event would be left without an end state.
export const storable = (s: string | undefined) => (s === undefined ? null : toStorableText(s));

// An id is stored once across every partition: `event_ids` holds it (migration 004). A row is
// written to `events` only by the statement that claimed the id, so a retry, a redelivery or the
// same id arriving again with another received_at all find it taken and store nothing.
export const CLAIM_ID = (id: string, receivedAt: string) =>
  `INSERT INTO event_ids (event_id, received_at) VALUES (${id}, ${receivedAt}) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
// The partition key of a stored id, so that a read or an update by id visits one partition.
export const RECEIVED_AT = (id: string) => `(SELECT received_at FROM event_ids WHERE event_id = ${id})`;

const EVENT_INSERT_COLUMNS =
  'event_id, event_type, event_source, event_category, user_id, session_id, data, metadata, timestamp, received_at, data_key, field_hashes';
// Typed, because in INSERT … SELECT the parameters get no type from the columns they fill.
const EVENT_VALUES =
  '$1::uuid, $2::varchar, $3::varchar, $4::varchar, $5::varchar, $6::varchar, $7::jsonb, $8::jsonb, $9::timestamptz, $10::timestamptz, $11::text, $12::text[]';
export type EventValues = unknown[];

export function sealedValues(fields: FieldCrypto | undefined) {
  return (e: EventEnvelope): EventValues => {
    const sealed = fields?.seal(e);
    return [
      ...identityValues(e),
      sealed?.data ?? e.data,
      sealed?.metadata ?? e.metadata,
      e.timestamp,
      e.received_at,
      sealed?.dataKey ?? null,
      sealed?.fieldHashes ?? null,
    ];
  };
}

export async function insertEvent(c: Client, values: EventValues): Promise<boolean> {
  const res = await c.query(
    `WITH key AS (${CLAIM_ID('$1', '$10')})
     INSERT INTO events (${EVENT_INSERT_COLUMNS}) SELECT ${EVENT_VALUES} WHERE EXISTS (SELECT 1 FROM key)`,
    values,
  );
  return res.rowCount === 1;
}

// Each statement below is one round trip and, being one statement, atomic: a transition's
// history row, the status column and the deliveries it fails are written together or not at all.
// Each is named, so PostgreSQL parses and plans it once per connection, not once per event.

// A repeat of the same run's start (a local activity run again after a worker crash, while the
// event has moved on) must change nothing: the status is set only when this run's transitions
// are new. A new row is inserted as `processing`; an existing one (a new run of a stored event)
// is moved back to `processing` by the UPDATE, which sees only rows from before the statement.
// With $17 (nothing to process) the run also ends here: `completed` as seq 3, in the same
// statement. Counted, it also counts the event into the read models: a round trip fewer per
// event than a processor of its own (docs/performance.md). $18/$19: the deliveries to claim for an
// event this statement stores (delivery-sql.ts), a round trip fewer per event with subscribers.
const RUN_STATUS = `CASE WHEN $17::boolean THEN 'completed' ELSE 'processing' END`;
const RUN_ATTEMPTS = `CASE WHEN $17::boolean THEN 1 ELSE 0 END`;
const beginRunSql = (counted: boolean) => `WITH key AS (${CLAIM_ID('$1', '$10')}), stored AS (
   INSERT INTO events (${EVENT_INSERT_COLUMNS}, status, attempts, updated_at)
   SELECT ${EVENT_VALUES}, ${RUN_STATUS}, ${RUN_ATTEMPTS}, $14::timestamptz WHERE EXISTS (SELECT 1 FROM key)
   RETURNING event_id
 ), written AS (
   INSERT INTO event_status_history (event_id, run_id, seq, status, attempts, at, reason, actor)
   SELECT $1, $13, t.seq, t.status, t.attempts, $14, t.reason, t.actor
     FROM (VALUES (1, 'pending', 0, NULL, NULL), (2, 'processing', 0, $15::text, $16::text), (3, 'completed', 1, NULL, NULL))
          AS t (seq, status, attempts, reason, actor)
    WHERE t.seq < 3 OR $17::boolean
   ON CONFLICT (event_id, run_id, seq) DO NOTHING
   RETURNING seq
 )${counted ? `, src AS (${eventAsSource([1, 2, 3, 4, 5, 6, 9, 10])}), ${COUNT_INTO_READ_MODELS}` : ''}, moved AS (
   UPDATE events SET status = ${RUN_STATUS}, attempts = ${RUN_ATTEMPTS}, last_error = NULL, updated_at = $14
    WHERE event_id = $1 AND received_at = ${RECEIVED_AT('$1')} AND NOT EXISTS (SELECT 1 FROM stored) AND EXISTS (SELECT 1 FROM written)
 ), claimed AS (
   ${CLAIM_DELIVERIES({ eventId: '$1', receivedAt: '$10', ids: '$18', leases: '$19', onlyIf: 'EXISTS (SELECT 1 FROM stored)' })}
 )
 SELECT EXISTS (SELECT 1 FROM stored) AS stored, ARRAY(SELECT subscription_id::text FROM claimed) AS claimed`;
export const BEGIN_RUN = { name: 'begin-run', text: beginRunSql(false) };
export const BEGIN_RUN_COUNTED = { name: 'begin-run-counted', text: beginRunSql(true) };

export async function writeTransition(c: Client, t: Transition, delivered: readonly Delivered[] = []): Promise<void> {
  const values = [t.eventId, t.runId, t.seq, t.status, t.attempts, storable(t.error), storable(t.reason), storable(t.actor), t.at];
  if (delivered.length > 0) {
    await c.query({ name: 'write-transition-delivered', text: TRANSITION_DELIVERED, values: [...values, ...deliveredValues(delivered)] });
    return;
  }
  await c.query({
    name: 'write-transition',
    text: `WITH written AS (
       INSERT INTO event_status_history (event_id, run_id, seq, status, attempts, error, reason, actor, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id, run_id, seq) DO NOTHING
       RETURNING event_id
     ), moved AS (
       UPDATE events SET status = $4, attempts = $5, last_error = $6, updated_at = $9
        WHERE event_id = $1 AND received_at = ${RECEIVED_AT('$1')} AND EXISTS (SELECT 1 FROM written)
     )
     UPDATE webhook_deliveries SET status = 'failed', sending_until = NULL, updated_at = $9
      WHERE $4 = 'failed' AND status = 'pending' AND event_id IN (SELECT event_id FROM written)`,
    values,
  });
}

// A `completed` transition with the deliveries the processing made ($10–$12), in one statement.
const TRANSITION_DELIVERED = `WITH ${RECORD_DELIVERED({ eventId: '$1', receivedAt: RECEIVED_AT('$1'), ids: '$10', codes: '$11', latencies: '$12' })},
   written AS (
     INSERT INTO event_status_history (event_id, run_id, seq, status, attempts, error, reason, actor, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id, run_id, seq) DO NOTHING
     RETURNING event_id
   )
   UPDATE events SET status = $4, attempts = $5, last_error = $6, updated_at = $9
    WHERE event_id = $1 AND received_at = ${RECEIVED_AT('$1')} AND EXISTS (SELECT 1 FROM written)`;
