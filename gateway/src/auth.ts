import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Caller } from '@waooaw/shared';
import { ROLES, unauthenticated } from '@waooaw/shared';

export interface AuthConfig {
  JWT_SECRET: string;
  JWT_JWKS_URL?: string | undefined;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  /** Oldest accepted token, by its `iat`, whatever its `exp` says (default DEFAULT_JWT_MAX_AGE_SECONDS). */
  JWT_MAX_AGE_SECONDS?: number | undefined;
}

/** A day: a stolen token stops working within a day even if its issuer gave it a far expiry. */
export const DEFAULT_JWT_MAX_AGE_SECONDS = 24 * 60 * 60;

/** What to fix, for the claim checks a client can fail (missing exp or iat, too old). */
function claimProblem(err: unknown, maxAge: number): string | undefined {
  if (!(err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired)) return;
  if (err.claim === 'exp' && err.reason === 'missing')
    return `The bearer token has no expiry (exp); send a token with an expiry, issued at most ${maxAge} s ago`;
  if (err.claim === 'iat' && (err.reason === 'missing' || err.reason === 'invalid'))
    return 'The bearer token has no issue time (iat); send a token with iat and exp';
  if (err.claim === 'iat' && err instanceof errors.JWTExpired)
    return `The bearer token was issued more than ${maxAge} s ago (JWT_MAX_AGE_SECONDS); get a new one`;
  return undefined;
}

const claimsSchema = z.object({
  sub: z.string().min(1, 'sub (the user id) is required'),
  roles: z.array(z.enum(ROLES)).min(1, `roles must list at least one of: ${ROLES.join(', ')}`),
});

/** The token of an `Authorization: Bearer <token>` header; UNAUTHENTICATED for anything else. */
function bearerToken(authorization: string): string {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('The Authorization header must be "Bearer <token>"');
  return match[1]!;
}

/** A verified client: who (null when anonymous) and, for a token, when it expires (ms since the epoch). */
export interface VerifiedClient {
  caller: Caller | null;
  expiresAt?: number;
}

/**
 * Verifies client bearer tokens: HS256 with a shared secret (development), or RS256 against a JWKS
 * when JWT_JWKS_URL is set. No token is an anonymous caller; a bad one is UNAUTHENTICATED, and so is
 * one without `exp` (it would never expire) or issued longer ago than JWT_MAX_AGE_SECONDS. The
 * expiry comes from the verified payload, so the token is decoded once.
 */
export function createClientVerifier(config: AuthConfig) {
  const jwks: JWTVerifyGetKey | undefined = config.JWT_JWKS_URL
    ? createRemoteJWKSet(new URL(config.JWT_JWKS_URL))
    : undefined;
  const secret = new TextEncoder().encode(config.JWT_SECRET);
  const maxAge = config.JWT_MAX_AGE_SECONDS ?? DEFAULT_JWT_MAX_AGE_SECONDS;
  const options = {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    requiredClaims: ['exp'],
    // Makes `iat` required too.
    maxTokenAge: maxAge,
  };

  return async function verify(authorization: string | undefined): Promise<VerifiedClient> {
    if (!authorization) return { caller: null };
    const token = bearerToken(authorization);
    let payload: JWTPayload;
    try {
      payload = jwks
        ? (await jwtVerify(token, jwks, { ...options, algorithms: ['RS256'] })).payload
        : (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
    } catch (err) {
      throw unauthenticated(
        claimProblem(err, maxAge) ??
          `The bearer token is invalid or expired (${(err as Error).message}); get a new one (npm run token in development)`,
      );
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success)
      throw unauthenticated(
        `The bearer token's claims are invalid: ${claims.error.issues.map((i) => i.message).join('; ')}`,
      );
    // Only who and which roles: nothing on the platform is scoped by tenant, so a `tenant` claim a
    // token may carry is not read (forwarding it would suggest an isolation that does not exist).
    return {
      caller: { sub: claims.data.sub, roles: claims.data.roles },
      // requiredClaims makes exp present; the check keeps the type honest.
      ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
    };
  };
}

/** The caller of a bearer token, as createClientVerifier verifies it. */
export function createClientAuth(config: AuthConfig) {
  const verify = createClientVerifier(config);
  return async (authorization: string | undefined): Promise<Caller | null> =>
    (await verify(authorization)).caller;
}

/** A development token (HS256), as `npm run token` prints it. */
export function signDevToken(
  caller: Caller,
  config: Pick<AuthConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  ttl = '8h',
): Promise<string> {
  return new SignJWT({ roles: caller.roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(caller.sub)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(config.JWT_SECRET));
}
