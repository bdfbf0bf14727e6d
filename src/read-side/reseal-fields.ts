import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { Pool } from '../store/pool.js';
import { withClient } from '../store/transaction.js';

// `npm run fields:reseal`: every stored event made to match ENCRYPTED_FIELDS and the ring's
// current key. A row sealed under an older key, holding a configured field in clear (stored
// before it was configured), or an encrypted field no longer configured, is opened and sealed
// again: a new data key wrapped by the current key, fresh keyed hashes. Once a run ends, no row
// needs the keys before the current one, which may then leave PAYLOAD_KEYS. Chunks in
// (received_at, event_id) order, each one statement; a row is rewritten only if nobody resealed
// it meanwhile, so running it twice, or beside the workers, is harmless.

// Only one run at a time: two would seal the same rows twice.
const LOCK = 0x7273656c;
const AT = `to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// One statement per chunk. The hashes travel as JSON: a row's array is of its own length.
const RESEAL = `UPDATE events e SET data = u.data::jsonb, metadata = u.metadata::jsonb, data_key = u.data_key,
       field_hashes = CASE WHEN u.hashes IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.hashes::jsonb)) END
  FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
       AS u(event_id, at, data, metadata, data_key, hashes, old_key)
 WHERE e.event_id = u.event_id AND e.received_at = u.at AND e.data_key IS NOT DISTINCT FROM u.old_key`;

export interface ResealResult {
  seen: number;
  resealed: number;
}

export async function resealFields(opts: {
  pool: Pool;
  fields: FieldCrypto;
  chunkSize?: number;
  /** Only events received in [from, to): a range at a time on a big store, the newest first if you like. */
  from?: string;
  to?: string;
  onProgress?: (done: number, total: number | null) => void;
}): Promise<ResealResult> {
  const { pool, fields, chunkSize = 1_000 } = opts;
  return withClient(pool, async (client) => {
    const locked = (await client.query('SELECT pg_try_advisory_lock($1) AS ok', [LOCK])).rows[0].ok;
    if (!locked) throw new Error('another fields:reseal is running');
    try {
      const range = [opts.from ?? '-infinity', opts.to ?? 'infinity'];
      const total = Number(
        (
          await client.query(
            'SELECT count(*) AS n FROM events WHERE received_at >= $1::timestamptz AND received_at < $2::timestamptz',
            range,
          )
        ).rows[0].n,
      );
      let after = { at: range[0]!, id: '00000000-0000-0000-0000-000000000000' };
      const result: ResealResult = { seen: 0, resealed: 0 };
      for (;;) {
        const rows = (
          await client.query(
            `SELECT event_id, ${AT} AS at, data, metadata, data_key FROM events
              WHERE (received_at, event_id) > ($1::timestamptz, $2::uuid) AND received_at < $4::timestamptz
              ORDER BY received_at, event_id LIMIT $3`,
            [after.at, after.id, chunkSize, range[1]],
          )
        ).rows;
        if (rows.length === 0) break;
        const stale = rows.filter((r) => fields.needsReseal(r));
        if (stale.length > 0) {
          const sealed = stale.map((r) => fields.reseal(r));
          const res = await client.query({
            name: 'reseal-events',
            text: RESEAL,
            values: [
              stale.map((r) => r.event_id),
              stale.map((r) => r.at),
              sealed.map((s) => JSON.stringify(s.data)),
              sealed.map((s) => JSON.stringify(s.metadata)),
              sealed.map((s) => s.dataKey),
              sealed.map((s) => (s.fieldHashes ? JSON.stringify(s.fieldHashes) : null)),
              stale.map((r) => r.data_key),
            ],
          });
          result.resealed += res.rowCount ?? 0;
        }
        result.seen += rows.length;
        const last = rows.at(-1)!;
        after = { at: last.at, id: last.event_id };
        opts.onProgress?.(result.seen, total);
        if (rows.length < chunkSize) break;
      }
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK]).catch(() => {});
    }
  });
}
