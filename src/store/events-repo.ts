import type { EventEnvelope, EventStatus } from '../events/envelope.js';
import type { Pool } from './pool.js';

export interface Transition {
  eventId: string;
  runId: string;
  seq: number;
  status: EventStatus;
  attempts: number;
  error?: string;
  at: string;
}

export interface StoredEvent extends EventEnvelope {
  status: EventStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

const EVENT_COLUMNS = `event_id, event_type, event_source, event_category, user_id, session_id, data, metadata,
  status, attempts, last_error, timestamp, received_at, created_at, updated_at`;

export function createEventsRepo(pool: Pool) {
  return {
    /** Inserts the event once; a second insert of the same id changes nothing. Returns true if new. */
    async insert(e: EventEnvelope): Promise<boolean> {
      const res = await pool.query(
        `INSERT INTO events (event_id, event_type, event_source, event_category, user_id, session_id, data, metadata, timestamp, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (event_id) DO NOTHING`,
        [e.event_id, e.event_type, e.event_source, e.event_category, e.user_id ?? null, e.session_id ?? null,
          e.data, e.metadata, e.timestamp, e.received_at],
      );
      return res.rowCount === 1;
    },

    /**
     * Records a transition: a history row and the status column, in one transaction. A repeat of
     * the same (event, run, seq) — an activity retry — writes nothing.
     */
    async recordTransition(t: Transition): Promise<void> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const inserted = await client.query(
          `INSERT INTO event_status_history (event_id, run_id, seq, status, attempts, error, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id, run_id, seq) DO NOTHING`,
          [t.eventId, t.runId, t.seq, t.status, t.attempts, t.error ?? null, t.at],
        );
        if (inserted.rowCount === 1) {
          await client.query(
            `UPDATE events SET status = $2, attempts = $3, last_error = $4, updated_at = $5 WHERE event_id = $1`,
            [t.eventId, t.status, t.attempts, t.error ?? null, t.at],
          );
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },

    async get(eventId: string): Promise<StoredEvent | undefined> {
      const res = await pool.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = $1`, [eventId]);
      return res.rows[0] ? toStored(res.rows[0]) : undefined;
    },

    async history(eventId: string): Promise<Omit<Transition, 'eventId'>[]> {
      const res = await pool.query(
        `SELECT run_id, seq, status, attempts, error, at FROM event_status_history WHERE event_id = $1 ORDER BY at, id`,
        [eventId],
      );
      return res.rows.map((r) => ({
        runId: r.run_id, seq: r.seq, status: r.status, attempts: r.attempts,
        ...(r.error && { error: r.error }), at: r.at.toISOString(),
      }));
    },
  };
}

export type EventsRepo = ReturnType<typeof createEventsRepo>;

function toStored(row: Record<string, unknown>): StoredEvent {
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
