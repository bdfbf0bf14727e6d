import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

// Tokens as an identity provider would issue them, for the in-process apps of the auth tests.

export const SECRET = `test-secret-${randomUUID()}`;
export const ISSUER = 'https://id.test.example';
export const AUDIENCE = 'event-service-test';
export const AUTH_ENV = { AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE };

export interface TokenOptions {
  sub?: string;
  iss?: string;
  aud?: string;
  exp?: string | number;
  secret?: string;
}

export function hs256(claims: Record<string, unknown>, opts: TokenOptions = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.sub ?? 'svc-test')
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const backendEvent = (extra: Record<string, unknown> = {}) => ({
  event_id: randomUUID(),
  event_type: 'auth_test',
  service: 'auth_tests',
  data: { n: 1 },
  ...extra,
});

export const frontendEvent = (extra: Record<string, unknown> = {}) => ({
  event_id: randomUUID(),
  event_type: 'beacon_test',
  category: 'user_interaction',
  data: { n: 1 },
  ...extra,
});
