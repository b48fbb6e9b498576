import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Caller } from '@waooaw/shared';
import { ROLES, unauthenticated } from '@waooaw/shared';

export interface AuthConfig {
  JWT_SECRET: string;
  JWT_JWKS_URL?: string | undefined;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}

const claimsSchema = z.object({
  sub: z.string().min(1, 'sub (the user id) is required'),
  roles: z.array(z.enum(ROLES)).min(1, `roles must list at least one of: ${ROLES.join(', ')}`),
  tenant: z.string().min(1).optional(),
});

/** The token of an `Authorization: Bearer <token>` header; UNAUTHENTICATED for anything else. */
export function bearerToken(authorization: string): string {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('The Authorization header must be "Bearer <token>"');
  return match[1]!;
}

/**
 * Verifies client bearer tokens: HS256 with a shared secret (development), or RS256 against a JWKS
 * when JWT_JWKS_URL is set. No token is an anonymous caller; a bad one is UNAUTHENTICATED.
 */
export function createClientAuth(config: AuthConfig) {
  const jwks: JWTVerifyGetKey | undefined = config.JWT_JWKS_URL
    ? createRemoteJWKSet(new URL(config.JWT_JWKS_URL))
    : undefined;
  const secret = new TextEncoder().encode(config.JWT_SECRET);
  const options = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };

  return async function callerFrom(authorization: string | undefined): Promise<Caller | null> {
    if (!authorization) return null;
    const token = bearerToken(authorization);
    let payload: JWTPayload;
    try {
      payload = jwks
        ? (await jwtVerify(token, jwks, { ...options, algorithms: ['RS256'] })).payload
        : (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
    } catch (err) {
      throw unauthenticated(
        `The bearer token is invalid or expired (${(err as Error).message}); get a new one (npm run token in development)`,
      );
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success)
      throw unauthenticated(
        `The bearer token's claims are invalid: ${claims.error.issues.map((i) => i.message).join('; ')}`,
      );
    return {
      sub: claims.data.sub,
      roles: claims.data.roles,
      ...(claims.data.tenant ? { tenant: claims.data.tenant } : {}),
    };
  };
}

/** A development token (HS256), as `npm run token` prints it. */
export function signDevToken(
  caller: Caller,
  config: Pick<AuthConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  ttl = '8h',
): Promise<string> {
  return new SignJWT({ roles: caller.roles, ...(caller.tenant ? { tenant: caller.tenant } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(caller.sub)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(config.JWT_SECRET));
}
