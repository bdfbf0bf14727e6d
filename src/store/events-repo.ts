import type { FieldCrypto, FieldView } from '../crypto/field-crypto.js';
import type { EventEnvelope, EventStatus } from '../events/envelope.js';
import { toStorableText } from '../events/storable.js';
import type { Pool } from './pool.js';
import { COUNT_INTO_READ_MODELS } from './read-model-sql.js';
import { inTransaction, type Client } from './transaction.js';

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

export interface StoredEvent extends EventEnvelope {
  status: EventStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export const EVENT_COLUMNS = `event_id, event_type, event_source, event_category, user_id, session_id, data, metadata,
  status, attempts, last_error, timestamp, received_at, created_at, updated_at, data_key`;

/**
 * `fields` seals the configured fields (ENCRYPTED_FIELDS) on the way in and opens them on the way
 * out: in clear by default (the worker, processors, webhooks), masked for readers without the scope.
 * `countIntoReadModels` (PROJECTIONS_ENABLED): a run's start also counts its event into the read models.
 */
export function createEventsRepo(pool: Pool, fields?: FieldCrypto, { countIntoReadModels = false } = {}) {
  const eventValues = sealedValues(fields);
  const beginRun = countIntoReadModels ? BEGIN_RUN_COUNTED : BEGIN_RUN;
  return {
    /** Inserts the event once; a second insert of the same id changes nothing. Returns true if new. */
    async insert(e: EventEnvelope): Promise<boolean> {
      return insertEvent(pool, eventValues(e));
    },

    /**
     * The start of a run in one transaction: the event stored (once), then its `pending` and
     * `processing` transitions as seq 1 and 2 of this run, and (countIntoReadModels) the event
     * counted into the read models (once). Repeating it changes nothing. True when this very call
     * stored the event: nothing can have been done with it before (no delivery, no earlier run).
     * `completed`: the event has nothing to process, and its `completed` transition (seq 3, one
     * attempt, at the same time) is recorded in the same statement.
     */
    async begin(
      e: EventEnvelope,
      runId: string,
      at: string,
      operator: { reason?: string; actor?: string } = {},
      { completed = false } = {},
    ): Promise<boolean> {
      const res = await pool.query({
        ...beginRun,
        values: [...eventValues(e), runId, at, storable(operator.reason), storable(operator.actor), completed],
      });
      return res.rows[0].stored === true;
    },

    /**
     * For an event PostgreSQL refuses to hold as sent: a row without its data and metadata, so
     * that the event is still listed, with its status `failed` and the reason.
     */
    async insertUnstorable(e: EventEnvelope, runId: string, at: string, reason: string): Promise<void> {
      await inTransaction(pool, async (c) => {
        await c.query(
          `WITH key AS (${CLAIM_ID('$1', '$7')})
           INSERT INTO events (event_id, event_type, event_source, event_category, data, metadata, timestamp, received_at)
           SELECT $1::uuid, $2::varchar, $3::varchar, $4::varchar, '{}', $5::jsonb, $6::timestamptz, $7::timestamptz WHERE EXISTS (SELECT 1 FROM key)`,
          // The time the service set, not the one sent: that may be what the database refused.
          [e.event_id, e.event_type, e.event_source, e.event_category, { unstorable: true }, e.received_at, e.received_at],
        );
        await writeTransition(c, { eventId: e.event_id, runId, seq: 1, status: 'pending', attempts: 0, at });
        await writeTransition(c, { eventId: e.event_id, runId, seq: 2, status: 'failed', attempts: 0, error: reason, at });
      });
    },

    /**
     * Records a transition: a history row and the status column, in one transaction. A repeat of
     * the same (event, run, seq) — an activity retry — writes nothing. When an event fails, the
     * deliveries still pending are failed with it.
     */
    async recordTransition(t: Transition): Promise<void> {
      await writeTransition(pool, t);
    },

    /** The transition a run recorded at `seq`, if any: lets a retry see that an earlier attempt finished. */
    async recorded(eventId: string, runId: string, seq: number): Promise<{ status: EventStatus; at: string } | undefined> {
      const res = await pool.query('SELECT status, at FROM event_status_history WHERE event_id = $1 AND run_id = $2 AND seq = $3', [
        eventId,
        runId,
        seq,
      ]);
      return res.rows[0] ? { status: res.rows[0].status, at: res.rows[0].at.toISOString() } : undefined;
    },

    async get(eventId: string, view: FieldView = 'clear'): Promise<StoredEvent | undefined> {
      const res = await pool.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = $1 AND received_at = ${RECEIVED_AT('$1')}`, [
        eventId,
      ]);
      return res.rows[0] ? toStored(res.rows[0], fields, view) : undefined;
    },

    async history(eventId: string): Promise<Omit<Transition, 'eventId'>[]> {
      const res = await pool.query(
        `SELECT run_id, seq, status, attempts, error, reason, actor, at FROM event_status_history WHERE event_id = $1 ORDER BY at, id`,
        [eventId],
      );
      return res.rows.map((r) => ({
        runId: r.run_id,
        seq: r.seq,
        status: r.status,
        attempts: r.attempts,
        ...(r.error && { error: r.error }),
        ...(r.reason && { reason: r.reason }),
        ...(r.actor && { actor: r.actor }),
        at: r.at.toISOString(),
      }));
    },
  };
}

export type EventsRepo = ReturnType<typeof createEventsRepo>;

/** A row as the API and the worker see it: times as ISO text, the encrypted fields opened or masked. */
export function toStored(row: Record<string, unknown>, fields: FieldCrypto | undefined, view: FieldView): StoredEvent {
  if (fields) row = fields.open(row as unknown as Parameters<FieldCrypto['open']>[0], view) as unknown as Record<string, unknown>;
  else delete row.data_key;
  const iso = (v: unknown) => (v as Date).toISOString();
  const out = {
    ...row,
    timestamp: iso(row.timestamp),
    received_at: iso(row.received_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  } as Record<string, unknown>;
  if (out.user_id === null) delete out.user_id;
  if (out.session_id === null) delete out.session_id;
  return out as unknown as StoredEvent;
}

// Error text can quote what a receiver or the database said, NUL included: a transition must
// never be refused for its message, or the event would be left without an end state.
const storable = (s: string | undefined) => (s === undefined ? null : toStorableText(s));

// An id is stored once across every partition: `event_ids` holds it (migration 004). A row is
// written to `events` only by the statement that claimed the id, so a retry, a redelivery or the
// same id arriving again with another received_at all find it taken and store nothing.
const CLAIM_ID = (id: string, receivedAt: string) =>
  `INSERT INTO event_ids (event_id, received_at) VALUES (${id}, ${receivedAt}) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;
// The partition key of a stored id, so that a read or an update by id visits one partition.
export const RECEIVED_AT = (id: string) => `(SELECT received_at FROM event_ids WHERE event_id = ${id})`;

const EVENT_INSERT_COLUMNS =
  'event_id, event_type, event_source, event_category, user_id, session_id, data, metadata, timestamp, received_at, data_key, field_hashes';
// Typed, because in INSERT … SELECT the parameters get no type from the columns they fill.
const EVENT_VALUES =
  '$1::uuid, $2::varchar, $3::varchar, $4::varchar, $5::varchar, $6::varchar, $7::jsonb, $8::jsonb, $9::timestamptz, $10::timestamptz, $11::text, $12::text[]';
type EventValues = unknown[];

function sealedValues(fields: FieldCrypto | undefined) {
  return (e: EventEnvelope): EventValues => {
    const sealed = fields?.seal(e);
    return [
      e.event_id,
      e.event_type,
      e.event_source,
      e.event_category,
      e.user_id ?? null,
      e.session_id ?? null,
      sealed?.data ?? e.data,
      sealed?.metadata ?? e.metadata,
      e.timestamp,
      e.received_at,
      sealed?.dataKey ?? null,
      sealed?.fieldHashes ?? null,
    ];
  };
}

async function insertEvent(c: Client, values: EventValues): Promise<boolean> {
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
// event than a processor of its own (docs/performance.md).
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
 )${
   counted
     ? `, src AS (
   SELECT $1::uuid AS event_id, $2::varchar AS event_type, $3::varchar AS event_source, $4::varchar AS event_category,
          $5::varchar AS user_id, $6::varchar AS session_id, $9::timestamptz AS timestamp, $10::timestamptz AS received_at
 ), ${COUNT_INTO_READ_MODELS}`
     : ''
 }, moved AS (
   UPDATE events SET status = ${RUN_STATUS}, attempts = ${RUN_ATTEMPTS}, last_error = NULL, updated_at = $14
    WHERE event_id = $1 AND received_at = ${RECEIVED_AT('$1')} AND NOT EXISTS (SELECT 1 FROM stored) AND EXISTS (SELECT 1 FROM written)
 )
 SELECT EXISTS (SELECT 1 FROM stored) AS stored`;
const BEGIN_RUN = { name: 'begin-run', text: beginRunSql(false) };
const BEGIN_RUN_COUNTED = { name: 'begin-run-counted', text: beginRunSql(true) };

async function writeTransition(c: Client, t: Transition): Promise<void> {
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
     UPDATE webhook_deliveries SET status = 'failed', updated_at = $9
      WHERE $4 = 'failed' AND status = 'pending' AND event_id IN (SELECT event_id FROM written)`,
    values: [t.eventId, t.runId, t.seq, t.status, t.attempts, storable(t.error), storable(t.reason), storable(t.actor), t.at],
  });
}
