import { describe, expect, it } from 'vitest';
import { parseSubject, subjectFor, subjectMatches } from './subject.js';

describe('subjects', () => {
  it('builds events.{source}.{category}.{event_type}', () => {
    expect(subjectFor({ source: 'backend', category: 'service', eventType: 'user_created' })).toBe('events.backend.service.user_created');
  });

  it.each(['a.b', 'a*', 'a>', 'A', 'has space', 'ünï', '', 'x'.repeat(101)])('refuses the token %j', (bad) => {
    expect(() => subjectFor({ source: 'backend', category: 'service', eventType: bad })).toThrow(/invalid subject token/);
  });

  it('parses only well-formed subjects', () => {
    expect(parseSubject('events.frontend.user_interaction.click')).toEqual({
      source: 'frontend',
      category: 'user_interaction',
      eventType: 'click',
    });
    expect(parseSubject('events.frontend.user_interaction')).toBeUndefined();
    expect(parseSubject('events.frontend.a.b.c')).toBeUndefined();
    expect(parseSubject('other.frontend.a.b')).toBeUndefined();
  });
});

describe('subjectMatches', () => {
  it.each([
    ['events.>', 'events.frontend.user_interaction.click', true],
    ['events.frontend.>', 'events.backend.service.x', false],
    ['events.*.service.*', 'events.backend.service.user_created', true],
    ['events.*.service', 'events.backend.service.user_created', false],
    ['events.backend.service.user_created', 'events.backend.service.user_created', true],
    ['events.>', 'events', false],
  ])('%s matches %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});
