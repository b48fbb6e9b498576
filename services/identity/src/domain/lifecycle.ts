import type { LifecycleStatus } from '@waooaw/shared';
import { ErrorCode, PlatformError } from '@waooaw/shared';

/** DRAFT -> PROVISIONED -> ACTIVE <-> SUSPENDED -> RETIRED; RETIRED is final. */
const ALLOWED: Record<LifecycleStatus, readonly LifecycleStatus[]> = {
  DRAFT: ['PROVISIONED'],
  PROVISIONED: ['ACTIVE'],
  ACTIVE: ['SUSPENDED'],
  SUSPENDED: ['ACTIVE', 'RETIRED'],
  RETIRED: [],
};

export const allowedTargets = (from: LifecycleStatus): readonly LifecycleStatus[] => ALLOWED[from];

/** Throws INVALID_LIFECYCLE_TRANSITION, naming the allowed targets, unless from -> to is a legal move. */
export function assertTransition(from: LifecycleStatus, to: LifecycleStatus): void {
  if (ALLOWED[from].includes(to)) return;
  const allowed = ALLOWED[from];
  throw new PlatformError(
    ErrorCode.INVALID_LIFECYCLE_TRANSITION,
    allowed.length === 0
      ? `An agent in ${from} cannot move to ${to}: ${from} is final`
      : `An agent in ${from} cannot move to ${to}; allowed: ${allowed.join(', ')}`,
    { from, to, allowed: [...allowed] },
  );
}

/** The legal moves from one status to another, in order (empty when already there); null when unreachable. */
export function pathBetween(from: LifecycleStatus, to: LifecycleStatus): LifecycleStatus[] | null {
  const previous = new Map<LifecycleStatus, LifecycleStatus>();
  const queue: LifecycleStatus[] = [from];
  const seen = new Set<LifecycleStatus>([from]);
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (current === to) {
      const path: LifecycleStatus[] = [];
      for (let s = to; s !== from; s = previous.get(s)!) path.unshift(s);
      return path;
    }
    for (const next of ALLOWED[current]) {
      if (!seen.has(next)) {
        seen.add(next);
        previous.set(next, current);
        queue.push(next);
      }
    }
  }
  return null;
}
