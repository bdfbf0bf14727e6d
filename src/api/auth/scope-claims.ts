import { SCOPES, type Scope } from '../scopes.js';

const KNOWN = new Set<string>(SCOPES);

/**
 * The scopes a token carries, from the standard `scope` claim (space-separated) or an `scp`
 * claim (an array, or a space-separated string as some identity providers send it). Scopes this
 * service does not know are ignored.
 */
export function scopesFromClaims(claims: Record<string, unknown>): Set<Scope> {
  const words = [...toWords(claims.scope), ...toWords(claims.scp)];
  return new Set(words.filter((w): w is Scope => KNOWN.has(w)));
}

function toWords(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/\s+/).filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((w): w is string => typeof w === 'string');
  return [];
}

// Operators need to look at what they act on, so admin includes read. Writing stays separate:
// an operator token is not an ingestion credential, and an ingestion token reads nothing.
const IMPLIED: Record<Scope, readonly Scope[]> = {
  'events:write': ['events:write'],
  'events:read': ['events:read', 'events:admin'],
  'events:admin': ['events:admin'],
  // Its own: an operator (admin) acts on events without seeing the encrypted fields.
  'events:decrypt': ['events:decrypt'],
};

/** Whether a caller holding `held` may use a route that needs `needed`. */
export function grants(held: ReadonlySet<Scope>, needed: Scope): boolean {
  return IMPLIED[needed].some((s) => held.has(s));
}
