import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

// The event store as COPY text of each of the project's tables, read in one REPEATABLE READ
// transaction so that every table is of the same instant. The PostgreSQL 18 server here has no
// pg_dump of its own version (Debian's is 15 and refuses to dump a newer server), and the schema
// is the migrations' anyway: a restore migrates an empty database, then loads the rows.

export interface TableDump {
  name: string;
  /** Written and loaded in this order (generated columns excluded). */
  columns: string[];
  rows: number;
  file: string;
  bytes: number;
  sha256: string;
}

export interface SequenceValue {
  name: string;
  value: string;
  called: boolean;
}

/** The migrations' bookkeeping: a restore migrates instead of loading it. */
const NOT_DATA = new Set(['schema_migrations']);

/**
 * The public schema's tables that hold rows (partitions are read through their parent), parents
 * before the tables whose foreign keys point at them, so a load in this order never breaks one.
 */
export async function projectTables(c: Pick<PoolClient, 'query'>): Promise<{ name: string; columns: string[] }[]> {
  const { rows } = await c.query<{ name: string; columns: string[]; refs: string[] | null }>(
    `SELECT t.relname AS name,
            (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
              WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS columns,
            (SELECT array_agg(DISTINCT r.relname::text) FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid
              WHERE k.conrelid = t.oid AND k.contype = 'f' AND k.confrelid <> t.oid) AS refs
       FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND t.relkind IN ('r', 'p') AND NOT t.relispartition
      ORDER BY t.relname`,
  );
  const byName = new Map(rows.filter((r) => !NOT_DATA.has(r.name)).map((r) => [r.name, r]));
  const ordered: { name: string; columns: string[] }[] = [];
  const placed = new Set<string>();
  const place = (name: string, path: string[]) => {
    if (placed.has(name) || !byName.has(name)) return;
    if (path.includes(name)) throw new Error(`foreign keys form a cycle: ${[...path, name].join(' -> ')}`);
    const t = byName.get(name)!;
    for (const ref of t.refs ?? []) place(ref, [...path, name]);
    placed.add(name);
    ordered.push({ name, columns: t.columns });
  };
  for (const name of byName.keys()) place(name, []);
  return ordered;
}

const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** A stream transform that counts and hashes what passes (rows are lines in COPY text). */
function meter(onBytes?: (n: number) => void) {
  const hash = createHash('sha256');
  const state = { bytes: 0, rows: 0 };
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      state.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) state.rows++;
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  return { t, state, sha256: () => hash.digest('hex') };
}

/** One table's rows, as its transaction sees them, into `file`. */
export async function dumpTable(
  c: PoolClient,
  table: { name: string; columns: string[] },
  file: string,
  onBytes?: (n: number) => void,
): Promise<Omit<TableDump, 'file'>> {
  const m = meter(onBytes);
  const cols = table.columns.map(ident).join(', ');
  await pipeline(c.query(copyTo(`COPY (SELECT ${cols} FROM ${ident(table.name)}) TO STDOUT`)), m.t, createWriteStream(file));
  return { name: table.name, columns: table.columns, rows: m.state.rows, bytes: m.state.bytes, sha256: m.sha256() };
}

/** Loads a dumped table in the caller's transaction. */
export async function loadTable(c: PoolClient, table: Pick<TableDump, 'name' | 'columns'>, file: string, onBytes?: (n: number) => void) {
  const m = meter(onBytes);
  const cols = table.columns.map(ident).join(', ');
  await pipeline(createReadStream(file), m.t, c.query(copyFrom(`COPY ${ident(table.name)} (${cols}) FROM STDIN`)));
  return m.state.rows;
}

/** The sequences of the public schema and where each stands (serial ids of history and tombstones). */
export async function sequenceValues(c: Pick<PoolClient, 'query'>): Promise<SequenceValue[]> {
  const { rows } = await c.query<{ name: string; value: string | null; called: boolean }>(
    `SELECT sequencename AS name, last_value::text AS value, last_value IS NOT NULL AS called
       FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename`,
  );
  return rows.map((r) => ({ name: r.name, value: r.value ?? '1', called: r.called }));
}

export async function setSequences(c: Pick<PoolClient, 'query'>, sequences: SequenceValue[]): Promise<void> {
  for (const s of sequences) await c.query('SELECT setval($1::regclass, $2::bigint, $3)', [ident(s.name), s.value, s.called]);
}

/** The months that had a partition of their own, so a restore makes the same ones before loading. */
export async function partitionMonths(c: Pick<PoolClient, 'query'>): Promise<string[]> {
  const { rows } = await c.query<{ month: string }>(
    `SELECT to_char(to_date(substring(c.relname FROM 'events_(\\d{4}_\\d{2})$'), 'YYYY_MM'), 'YYYY-MM-01"T00:00:00Z"') AS month
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_\\d{4}_\\d{2}$' ORDER BY 1`,
  );
  return rows.map((r) => r.month);
}
