// Sensitive values are replaced before an event is published, so they never reach the stream,
// Temporal history, the database or the logs. Names match case-insensitively at any depth.

export const REDACTED = '[REDACTED]';

export function createRedactor(fieldNames: readonly string[]) {
  const sensitive = new Set(fieldNames.map((f) => f.toLowerCase()));

  function redact(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(redact);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = sensitive.has(key.toLowerCase()) ? REDACTED : redact(inner);
    }
    return out;
  }

  return <T extends Record<string, unknown>>(obj: T): T => redact(obj) as T;
}

export type Redactor = ReturnType<typeof createRedactor>;
