import { describe, expect, it } from 'vitest';
import { grants, scopesFromClaims } from './scope-claims.js';

describe('scopesFromClaims', () => {
  it('reads a space-separated scope claim', () => {
    expect([...scopesFromClaims({ scope: 'openid events:write  events:read' })].sort()).toEqual(['events:read', 'events:write']);
  });

  it('reads an scp array and an scp string', () => {
    expect([...scopesFromClaims({ scp: ['events:admin', 42, 'profile'] })]).toEqual(['events:admin']);
    expect([...scopesFromClaims({ scp: 'events:read' })]).toEqual(['events:read']);
  });

  it('ignores unknown scopes and claims of other types', () => {
    expect(scopesFromClaims({ scope: 'events:*' }).size).toBe(0);
    expect(scopesFromClaims({ scope: { a: 1 } }).size).toBe(0);
    expect(scopesFromClaims({}).size).toBe(0);
  });
});

describe('grants', () => {
  it('lets admin read but not write', () => {
    const admin = new Set(['events:admin'] as const);
    expect(grants(admin, 'events:admin')).toBe(true);
    expect(grants(admin, 'events:read')).toBe(true);
    expect(grants(admin, 'events:write')).toBe(false);
  });

  it('gives events:decrypt to no other scope, and nothing but itself to it', () => {
    expect(grants(new Set(['events:admin', 'events:read'] as const), 'events:decrypt')).toBe(false);
    expect(grants(new Set(['events:decrypt'] as const), 'events:read')).toBe(false);
    expect(grants(new Set(['events:decrypt'] as const), 'events:decrypt')).toBe(true);
  });

  it('keeps read and write apart', () => {
    expect(grants(new Set(['events:write'] as const), 'events:read')).toBe(false);
    expect(grants(new Set(['events:read'] as const), 'events:write')).toBe(false);
    expect(grants(new Set(['events:read'] as const), 'events:admin')).toBe(false);
  });
});
