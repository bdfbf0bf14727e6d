import type { FieldCrypto, FieldView } from '../crypto/field-crypto.js';
import type { EventEnvelope, EventStatus } from '../events/envelope.js';
import { claimValues, type ClaimWanted, type Delivered } from './delivery-sql.js';
import type { Pool } from './pool.js';
import {
  BEGIN_RUN,
  BEGIN_RUN_COUNTED,
  CLAIM_ID,
  insertEvent,
  RECEIVED_AT,
  sealedValues,
  storable,
  type Transition,
  writeTransition,
} from './event-statements.js';
import { inTransaction } from './transaction.js';

export { RECEIVED_AT, type Transition } from './event-statements.js';

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
     * counted into the read models (once). Repeating it changes nothing. `stored`: this very call
     * stored the event. `completed`: the event has nothing to process, and its `completed`
     * transition (seq 3, one attempt, at the same time) is recorded in the same statement.
     * `claims`: the event's deliveries to claim (delivery-sql.ts) if this call stores it; `claimed`
     * says which it took.
     */
    async begin(
      e: EventEnvelope,
      runId: string,
      at: string,
      operator: { reason?: string; actor?: string } = {},
      { completed = false, claims = [] }: { completed?: boolean; claims?: readonly ClaimWanted[] } = {},
    ): Promise<{ stored: boolean; claimed: ReadonlySet<string> }> {
      const res = await pool.query({
        ...beginRun,
        values: [...eventValues(e), runId, at, storable(operator.reason), storable(operator.actor), completed, ...claimValues(claims)],
      });
      return { stored: res.rows[0].stored === true, claimed: new Set(res.rows[0].claimed as string[]) };
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
     * deliveries still pending are failed with it. `delivered`: deliveries the processing that
     * ends here made, recorded by the same statement.
     */
    async recordTransition(t: Transition, delivered?: readonly Delivered[]): Promise<void> {
      await writeTransition(pool, t, delivered);
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
