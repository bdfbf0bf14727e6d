import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Scope } from '../scopes.js';
import { scopesFromClaims } from './scope-claims.js';

export interface JwtSettings {
  /** HS256 shared secret. */
  secret?: string | undefined;
  /** Where the identity provider publishes its public keys (asymmetric algorithms). */
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

export interface TokenClaims {
  subject: string | undefined;
  scopes: Set<Scope>;
}

/** The token is not acceptable: the caller gets 401 with this reason. */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
}

/** The keys to check the token with could not be fetched: not the caller's fault (503). */
export class KeysUnavailable extends Error {
  override name = 'KeysUnavailable';
}

// Only asymmetric algorithms come from the JWKS, and HS256 only with the shared secret, so a token
// can never make us use a public key as an HMAC secret.
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_S = 30;

export function createJwtVerifier(settings: JwtSettings) {
  const secret = settings.secret ? new TextEncoder().encode(settings.secret) : undefined;
  const jwks = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl)) : undefined;
  if (!secret && !jwks) throw new Error('a JWT verifier needs a shared secret or a JWKS URL');
  const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC : [])];

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (header.alg !== 'HS256' && jwks) return jwks(header, token);
    throw new errors.JOSEAlgNotAllowed('algorithm not accepted');
  };

  return async function verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms,
        clockTolerance: CLOCK_TOLERANCE_S,
        ...(settings.issuer && { issuer: settings.issuer }),
        ...(settings.audience && { audience: settings.audience }),
      });
      return { subject: payload.sub, scopes: scopesFromClaims(payload) };
    } catch (err) {
      throw classify(err);
    }
  };
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>;

function classify(err: unknown): Error {
  if (err instanceof errors.JWTExpired) return new TokenRejected('the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new TokenRejected('the token issuer is not accepted');
    if (err.claim === 'aud') return new TokenRejected('the token audience is not accepted');
    return new TokenRejected(`the token claim "${err.claim}" is not valid`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenRejected('the token signature is not valid');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return new TokenRejected('the token algorithm is not accepted');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return new TokenRejected('no key matches the token');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JWKInvalid)
    return new TokenRejected('the token is malformed');
  return new KeysUnavailable(`the signing keys could not be fetched: ${(err as Error).message}`);
}

/** The token of an `Authorization: Bearer <token>` header; undefined when the header is not that. */
export function bearerToken(header: string): string | undefined {
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return match?.[1];
}
