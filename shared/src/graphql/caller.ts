import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { forbidden, notFound, unauthenticated } from '../errors';
import { assertMaxLength, InputLimits } from '../limits';

export const ROLES = ['customer', 'operator', 'support-l1', 'support-l2', 'support-l3', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as verified by the gateway. */
export interface Caller {
  sub: string;
  roles: Role[];
}

/** The header the gateway forwards verified claims in, as a short-lived HS256 token. */
export const CALLER_HEADER = 'x-waooaw-caller';
const ISSUER = 'waooaw-gateway';

/**
 * The audience of a caller token meant for one subgraph. Each subgraph accepts only its own, so a
 * token captured from one subgraph's traffic (a log, a proxy) cannot be replayed to another.
 */
export const callerAudience = (subgraph: string) => `waooaw-subgraph:${subgraph}`;

const callerClaims = z.union([
  z.object({ anon: z.literal(true) }),
  z.object({
    sub: z.string().min(1),
    roles: z.array(z.enum(ROLES)).min(1),
  }),
]);

const keyOf = (secret: string) => new TextEncoder().encode(secret);

/**
 * Used by the gateway (and tests) to forward the verified caller to one subgraph (`subgraph`, its
 * name in the supergraph); `null` forwards an anonymous caller, so even anonymous requests prove
 * they came through the gateway.
 */
export async function signCallerToken(
  caller: Caller | null,
  secret: string,
  subgraph: string,
  ttlSeconds = 60,
): Promise<string> {
  const claims = caller ? { roles: caller.roles } : { anon: true };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(caller?.sub ?? 'anonymous')
    .setIssuer(ISSUER)
    .setAudience(callerAudience(subgraph))
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(keyOf(secret));
}

/**
 * Reads the forwarded caller on the subgraph named `subgraph`: null for an anonymous caller the
 * gateway vouched for. A request without the header did not come through the gateway, and one
 * that does not verify (forged, expired, other secret, signed for another subgraph) is refused:
 * both are UNAUTHENTICATED.
 */
export async function callerFromToken(
  token: string | undefined,
  secret: string,
  subgraph: string,
): Promise<Caller | null> {
  if (!token)
    throw unauthenticated(
      'Send requests through the gateway: this service only answers callers the gateway forwards',
    );
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, keyOf(secret), {
      issuer: ISSUER,
      audience: callerAudience(subgraph),
      algorithms: ['HS256'],
    }));
  } catch {
    throw unauthenticated(
      `The forwarded caller token is invalid, expired or not for the ${subgraph} service; send the request through the gateway`,
    );
  }
  const claims = callerClaims.safeParse(payload);
  if (!claims.success) throw unauthenticated('The forwarded caller token has no valid claims');
  if ('anon' in claims.data) return null;
  const { sub, roles } = claims.data;
  return { sub, roles };
}

/** The roles that see and act on every customer's records (the platform's staff). */
export const STAFF_ROLES = ['operator', 'admin'] as const satisfies readonly Role[];

/** Operators and admins: not limited to their own records. Support roles are not staff (tiers apply). */
export const isStaff = (caller: Caller): boolean =>
  caller.roles.some((r) => (STAFF_ROLES as readonly Role[]).includes(r));

/**
 * A customer may only see (or change) what is theirs; staff see everything. A record without an
 * owner (`null`, e.g. work a service submitted for nobody) is staff-only. Every read of an owned
 * record goes through this, root fields and entity references alike, so the rule cannot drift.
 */
export function assertOwnerOrStaff(caller: Caller, ownerId: string | null, what: string): void {
  if (isStaff(caller) || (ownerId !== null && ownerId === caller.sub)) return;
  throw forbidden(`This ${what} belongs to someone else; you can only see and act on your own`);
}

/** The roles that reach owned records: their customer, and staff (support roles are not among them). */
export const OWNER_OR_STAFF_ROLES = ['customer', ...STAFF_ROLES] as const satisfies readonly Role[];

/**
 * Loads a record as `caller` may read it: UNAUTHENTICATED for an anonymous caller, FORBIDDEN for
 * someone else's, null for an unknown id. Root fields (`trial(id:)`, `task(id:)`...) and entity
 * references (`_entities`, what other subgraphs' fields resolve through) both go through here: a
 * reference is just another way in, so it must not skip the owner check.
 */
export async function readOwned<T extends { customerId: string | null }>(
  caller: Caller | null,
  what: string,
  load: () => Promise<T | null | undefined>,
): Promise<T | null> {
  const who = requireRole(caller, ...OWNER_OR_STAFF_ROLES);
  const record = (await load()) ?? null;
  if (record) assertOwnerOrStaff(who, record.customerId, what);
  return record;
}

/**
 * Loads a record its owner or staff is about to change (cancel it, say), in the order every such
 * mutation checks: the caller's role, the length of the reason given, that the record exists
 * (NOT_FOUND names `entity` and `id`), that it is the caller's or the caller is staff.
 */
export async function loadOwnedForChange<T extends { customerId: string | null }>(
  caller: Caller | null,
  target: { entity: string; id: string; what: string; reason: string | null | undefined },
  load: () => Promise<T | null | undefined>,
): Promise<{ who: Caller; record: T }> {
  const who = requireRole(caller, ...OWNER_OR_STAFF_ROLES);
  assertMaxLength('reason', target.reason, InputLimits.reasonChars);
  const record = await load();
  if (!record) throw notFound(target.entity, target.id);
  assertOwnerOrStaff(who, record.customerId, target.what);
  return { who, record };
}

/** Throws UNAUTHENTICATED without a caller and FORBIDDEN without one of the roles. */
export function requireRole(caller: Caller | null, ...roles: Role[]): Caller {
  if (!caller) throw unauthenticated();
  if (roles.length > 0 && !caller.roles.some((r) => roles.includes(r))) {
    throw forbidden(`This operation needs one of the roles: ${roles.join(', ')}`);
  }
  return caller;
}
