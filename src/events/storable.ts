// What PostgreSQL can hold. `text` and `jsonb` refuse the NUL character, jsonb refuses a lone
// UTF-16 surrogate (JSON.stringify writes it as a `\udxxx` escape jsonb will not decode), and
// very deep nesting overflows the server's stack. An event carrying any of these would be
// accepted by JetStream and then fail to store for ever, so ingestion refuses it up front.

/** Deeper than any real event; far below what overflows jsonb parsing or our own walk. */
export const MAX_JSON_DEPTH = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored, or undefined when it can. */
export function unstorableText(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (\\u0000), which PostgreSQL cannot store';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate, which is not valid Unicode';
  return undefined;
}

/** Text the service writes itself (error messages, reasons), made storable and kept short. */
export function toStorableText(s: string, max = 2_000): string {
  const clean = s.replaceAll('\u0000', '\uFFFD').replace(new RegExp(LONE_SURROGATE, 'g'), '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export interface Unstorable {
  /** Dotted path from the value's root, e.g. `data.items.3.name`. */
  path: (string | number)[];
  message: string;
}

/** The first place in a JSON value that PostgreSQL could not store, or undefined. */
export function findUnstorable(value: unknown): Unstorable | undefined {
  return walk(value, 0);
}

// Runs on every ingested event: the path is built only on the way back from a finding.
function walk(value: unknown, depth: number): Unstorable | undefined {
  if (typeof value === 'string') {
    const why = unstorableText(value);
    return why ? { path: [], message: why } : undefined;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path: [], message: 'is not a finite number' };
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_JSON_DEPTH) return { path: [], message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = walk(value[i], depth + 1);
      if (found) return { ...found, path: [i, ...found.path] };
    }
    return undefined;
  }
  for (const key in value) {
    const why = unstorableText(key);
    if (why) return { path: [key], message: `has a key that ${why}` };
    const found = walk((value as Record<string, unknown>)[key], depth + 1);
    if (found) return { ...found, path: [key, ...found.path] };
  }
  return undefined;
}

/**
 * An ISO 8601 time PostgreSQL's timestamptz takes: a year from 1 to 9999 (it has no year 0, and
 * clients' year-0 or five-digit years are mistakes) and an offset within ±15:59.
 */
export function isStorableTime(iso: string): boolean {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return false;
  const year = new Date(ms).getUTCFullYear();
  if (year < 1 || year > 9999) return false;
  const offset = /([+-])(\d{2}):?(\d{2})$/.exec(iso);
  return !offset || Number(offset[2]) <= 15;
}
