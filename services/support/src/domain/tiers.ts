import type { Role, SupportTier, TicketPriority } from '@waooaw/shared';
import { SUPPORT_TIERS } from '@waooaw/shared';

/** 1 for L1, 2 for L2, 3 for L3: tiers only ever go up. */
export const tierRank = (tier: SupportTier): number => SUPPORT_TIERS.indexOf(tier) + 1;

export const isHigher = (to: SupportTier, from: SupportTier) => tierRank(to) > tierRank(from);

/** The tier above, or null at L3. */
export const nextTier = (tier: SupportTier): SupportTier | null => SUPPORT_TIERS[tierRank(tier)] ?? null;

const SUPPORT_ROLE_TIER: Partial<Record<Role, SupportTier>> = {
  'support-l1': 'L1',
  'support-l2': 'L2',
  'support-l3': 'L3',
};

/** The highest tier a caller's support roles cover (support-l3 -> 3), 0 without one. */
export function supportRank(roles: readonly Role[]): number {
  return Math.max(0, ...roles.map((r) => (SUPPORT_ROLE_TIER[r] ? tierRank(SUPPORT_ROLE_TIER[r]) : 0)));
}

export const PRIORITY_RANK: Record<TicketPriority, number> = { URGENT: 2, HIGH: 1, NORMAL: 0, LOW: -1 };
