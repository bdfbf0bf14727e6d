import { TOKEN_PATTERN } from './subject.js';

// Protocols we speak name their events freely ("Order Completed", "com.example.order.created");
// a subject token may only be [a-z0-9_]{1,100}. The name becomes a token by one rule, written
// down in docs/segment.md and docs/cloudevents.md, and the original is always kept beside it.

const MAX = 100;

/**
 * The subject-safe event type for a free-form name, or undefined when nothing of it survives
 * (a name of symbols or non-Latin script only). Accents are dropped (`Café` → `cafe`), camelCase
 * is split (`orderCompleted` → `order_completed`), every other run of characters outside
 * [a-z0-9] becomes one `_`, and the result is cut to 100 characters.
 */
export function toEventType(name: string): string | undefined {
  const token = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX)
    .replace(/_+$/, '');
  return TOKEN_PATTERN.test(token) ? token : undefined;
}
