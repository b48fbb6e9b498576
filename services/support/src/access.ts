import type { Caller, SupportTier } from '@waooaw/shared';
import { forbidden, isStaff } from '@waooaw/shared';
import type { ActorRecord } from './models/ticket';
import { supportRank, tierRank } from './domain/tiers';

// Operators and admins may do anything to any ticket (the platform-wide rule, in shared/).
export { isStaff } from '@waooaw/shared';

/** support-l1/l2/l3: they read every ticket and work on those at or below their tier. */
export const isSupport = (caller: Caller) => supportRank(caller.roles) > 0;

/** Neither staff nor support: sees and acts on their own tickets only. */
export const actsAsCustomer = (caller: Caller) => !isStaff(caller) && !isSupport(caller);

/** A customer only reads (or comments on, escalates, reopens) their own tickets: FORBIDDEN otherwise. */
export function assertCanSee(caller: Caller, ticket: { customerId: string }) {
  if (!actsAsCustomer(caller) || ticket.customerId === caller.sub) return;
  throw forbidden('This ticket belongs to another customer; you can only see and act on your own tickets');
}

/**
 * Assigning and resolving need a support role at or above the ticket's tier (support-l3 for an L3
 * ticket; a more senior tier may also take a lower one), or staff.
 */
export function assertCanWorkAt(caller: Caller, tier: SupportTier, what: string) {
  if (isStaff(caller) || supportRank(caller.roles) >= tierRank(tier)) return;
  throw forbidden(
    `Only support at ${tier} or above (support-${tier.toLowerCase()}${tier === 'L3' ? '' : ' ...'}), operators and admins can ${what} a ${tier} ticket`,
  );
}

/** How the caller appears in a ticket's history. */
export const actorOf = (caller: Caller): ActorRecord => ({
  kind: actsAsCustomer(caller) ? 'CUSTOMER' : 'HUMAN',
  id: caller.sub,
});
