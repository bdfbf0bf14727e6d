import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken, createJwtVerifier, KeysUnavailable, TokenRejected } from './jwt.js';

const SECRET = 'unit-test-secret-that-is-long-enough-0123';
const key = new TextEncoder().encode(SECRET);
const sign = (claims: Record<string, unknown>, opts: { exp?: string | number; iss?: string; aud?: string; secret?: Uint8Array } = {}) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setSubject('svc-a');
  if (opts.exp !== undefined) jwt.setExpirationTime(opts.exp);
  if (opts.iss) jwt.setIssuer(opts.iss);
  if (opts.aud) jwt.setAudience(opts.aud);
  return jwt.sign(opts.secret ?? key);
};

describe('createJwtVerifier (HS256)', () => {
  const verify = createJwtVerifier({ secret: SECRET, issuer: 'https://id.example', audience: 'event-service' });
  const ok = { iss: 'https://id.example', aud: 'event-service' };

  it('returns the subject and scopes of a valid token', async () => {
    const claims = await verify(await sign({ scope: 'events:write' }, { ...ok, exp: '5m' }));
    expect(claims.subject).toBe('svc-a');
    expect([...claims.scopes]).toEqual(['events:write']);
  });

  it.each([
    ['expired', () => sign({}, { ...ok, exp: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
    ['another issuer', () => sign({}, { ...ok, iss: 'https://evil.example' }), /issuer/],
    ['another audience', () => sign({}, { ...ok, aud: 'other' }), /audience/],
    ['another secret', () => sign({}, { ...ok, secret: new TextEncoder().encode('x'.repeat(40)) }), /signature/],
    ['not a JWT', async () => 'abc.def.ghi', /malformed/],
  ])('rejects a token with %s', async (_name, make, reason) => {
    const token = await make();
    await expect(verify(token)).rejects.toThrow(TokenRejected);
    await expect(verify(token)).rejects.toThrow(reason);
  });

  it('refuses an unsigned token', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ ...ok, scope: 'events:admin' })).toString('base64url');
    await expect(verify(`${header}.${body}.`)).rejects.toThrow(/algorithm|malformed/);
  });

  it('says the keys are unavailable when the JWKS cannot be fetched', async () => {
    const jwksOnly = createJwtVerifier({ jwksUrl: 'http://127.0.0.1:9/jwks.json' });
    const { privateKey } = await generateKeyPair('RS256');
    const rs = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k' }).sign(privateKey);
    await expect(jwksOnly(rs)).rejects.toThrow(KeysUnavailable);
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer header, any case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
  });

  it('refuses other schemes and junk', () => {
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken('abc.def.ghi')).toBeUndefined();
  });
});
