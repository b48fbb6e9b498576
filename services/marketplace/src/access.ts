import type { Caller } from '@waooaw/shared';
import { forbidden, isStaff } from '@waooaw/shared';

// Operators and admins see every customer's trials, deliverables and subscriptions: one rule for
// every service, in shared/.
export { assertOwnerOrStaff, isStaff } from '@waooaw/shared';

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
