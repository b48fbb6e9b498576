import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { forbidden, unauthenticated } from '../errors';

export const ROLES = ['customer', 'operator', 'support-l1', 'support-l2', 'support-l3', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as verified by the gateway. */
export interface Caller {
  sub: string;
  roles: Role[];
  tenant?: string;
}

/** The header the gateway forwards verified claims in, as a short-lived HS256 token. */
export const CALLER_HEADER = 'x-waooaw-caller';
const ISSUER = 'waooaw-gateway';
const AUDIENCE = 'waooaw-subgraphs';

const callerClaims = z.object({
  sub: z.string().min(1),
  roles: z.array(z.enum(ROLES)).min(1),
  tenant: z.string().min(1).optional(),
});

const keyOf = (secret: string) => new TextEncoder().encode(secret);

/** Used by the gateway (and tests) to forward a verified caller to the subgraphs. */
export async function signCallerToken(caller: Caller, secret: string, ttlSeconds = 60): Promise<string> {
  return new SignJWT({ roles: caller.roles, ...(caller.tenant ? { tenant: caller.tenant } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(caller.sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(keyOf(secret));
}

/**
 * Reads the forwarded caller. No header means an anonymous request; a header that does not verify
 * (forged, expired, wrong secret) is refused rather than treated as anonymous.
 */
export async function callerFromToken(token: string | undefined, secret: string): Promise<Caller | null> {
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
    });
    const claims = callerClaims.parse(payload);
    return { sub: claims.sub, roles: claims.roles, ...(claims.tenant ? { tenant: claims.tenant } : {}) };
  } catch {
    throw unauthenticated(
      'The forwarded caller token is invalid or expired; send the request through the gateway',
    );
  }
}

/** Throws UNAUTHENTICATED without a caller and FORBIDDEN without one of the roles. */
export function requireRole(caller: Caller | null, ...roles: Role[]): Caller {
  if (!caller) throw unauthenticated();
  if (roles.length > 0 && !caller.roles.some((r) => roles.includes(r))) {
    throw forbidden(`This operation needs one of the roles: ${roles.join(', ')}`);
  }
  return caller;
}
