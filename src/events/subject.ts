// Subject naming: events.{source}.{category}.{event_type}. Every token is checked against one rule
// so that no caller-supplied name can add tokens or wildcards (`.`, `*`, `>`) to a subject.

export const SOURCES = ['frontend', 'backend'] as const;
export const FRONTEND_CATEGORIES = ['user_interaction', 'business_action', 'system_event'] as const;
export const BACKEND_CATEGORY = 'service';

export type EventSource = (typeof SOURCES)[number];

export const TOKEN_PATTERN = /^[a-z0-9_]{1,100}$/;
export const TOKEN_RULE = 'lowercase letters, digits and underscores only, 1 to 100 characters';

export const SUBJECT_ROOT = 'events';

export interface SubjectParts {
  source: string;
  category: string;
  eventType: string;
}

export function subjectFor({ source, category, eventType }: SubjectParts): string {
  for (const token of [source, category, eventType]) {
    if (!TOKEN_PATTERN.test(token)) throw new Error(`invalid subject token "${token}": ${TOKEN_RULE}`);
  }
  return `${SUBJECT_ROOT}.${source}.${category}.${eventType}`;
}

export function parseSubject(subject: string): SubjectParts | undefined {
  const [root, source, category, eventType, ...rest] = subject.split('.');
  if (root !== SUBJECT_ROOT || rest.length > 0 || !source || !category || !eventType) return undefined;
  if (![source, category, eventType].every((t) => TOKEN_PATTERN.test(t))) return undefined;
  return { source, category, eventType };
}

/** NATS subject matching: `*` matches one token, a final `>` matches one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return i === p.length - 1 && s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
