import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { Pool } from '../store/pool.js';
import { transaction, withClient } from '../store/transaction.js';

// `npm run fields:reseal`: every stored event made to match ENCRYPTED_FIELDS and the ring's
// current key. A row sealed under an older key, holding a configured field in clear (stored
// before it was configured), or an encrypted field no longer configured, is opened and sealed
// again: a new data key wrapped by the current key, fresh keyed hashes. Once a run ends, no row
// needs the keys before the current one, which may then leave PAYLOAD_KEYS. Chunks in
// (received_at, event_id) order, each in one transaction; a row is rewritten only if nobody
// resealed it meanwhile, so running it twice, or beside the workers, is harmless.

// Only one run at a time: two would seal the same rows twice.
const LOCK = 0x7273656c;
const AT = `to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

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
        await transaction(client, async () => {
          for (const row of rows.filter((r) => fields.needsReseal(r))) {
            const sealed = fields.reseal(row);
            const res = await client.query({
              name: 'reseal-event',
              text: `UPDATE events SET data = $3, metadata = $4, data_key = $5, field_hashes = $6
                      WHERE event_id = $1 AND received_at = $2::timestamptz AND data_key IS NOT DISTINCT FROM $7`,
              values: [row.event_id, row.at, sealed.data, sealed.metadata, sealed.dataKey, sealed.fieldHashes, row.data_key],
            });
            result.resealed += res.rowCount ?? 0;
          }
        });
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
