import type { Caller } from '@waooaw/shared';
import { forbidden } from '@waooaw/shared';

const STAFF = ['operator', 'admin'] as const;

/** Operators and admins see every customer's trials, deliverables and subscriptions. */
export const isStaff = (caller: Caller) => caller.roles.some((r) => (STAFF as readonly string[]).includes(r));

/** A customer may only see (or change) what is theirs; another customer's gets FORBIDDEN. */
export function assertOwnerOrStaff(caller: Caller, customerId: string, what: string) {
  if (isStaff(caller) || customerId === caller.sub) return;
  throw forbidden(`This ${what} belongs to another customer; you can only see your own`);
}

/** Only the owner (not staff) may act as the customer: convert, request work, rate. */
export function assertOwner(caller: Caller, customerId: string, what: string) {
  if (customerId === caller.sub) return;
  throw forbidden(`This ${what} belongs to another customer; only its customer can do this`);
}

/** Whose records a my* query lists: the caller's own, or for staff the named customer (or everyone). */
export function ownerScope(caller: Caller, customerId: string | null | undefined): string | null {
  if (isStaff(caller)) return customerId ?? null;
  if (customerId && customerId !== caller.sub)
    throw forbidden('Customers can only list their own records; leave customerId out');
  return caller.sub;
}
