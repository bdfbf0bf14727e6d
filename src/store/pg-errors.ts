// SQLSTATE classes of errors that repeating the same statement with the same input can never
// fix: 22 data exception (a NUL in text, a value out of range, invalid JSON or Unicode), 23
// integrity constraint violation, 54 program limit exceeded (nesting, sizes). Everything else —
// connection loss, serialization failures, a server shutting down — may succeed next time.
const PERMANENT_CLASSES = new Set(['22', '23', '54']);

/** True when the error comes from PostgreSQL and will recur on every retry. */
export function isPermanentDbError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && PERMANENT_CLASSES.has(code.slice(0, 2));
}
