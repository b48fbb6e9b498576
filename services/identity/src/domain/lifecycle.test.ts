import { LIFECYCLE_STATUSES } from '@waooaw/shared';
import type { PlatformError } from '@waooaw/shared';
import { allowedTargets, assertTransition, pathBetween } from './lifecycle';

describe('agent lifecycle state machine', () => {
  it.each([
    ['DRAFT', 'PROVISIONED'],
    ['PROVISIONED', 'ACTIVE'],
    ['ACTIVE', 'SUSPENDED'],
    ['SUSPENDED', 'ACTIVE'],
    ['SUSPENDED', 'RETIRED'],
  ] as const)('allows %s -> %s', (from, to) => {
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it('refuses every other move with INVALID_LIFECYCLE_TRANSITION naming the allowed targets', () => {
    let refused = 0;
    for (const from of LIFECYCLE_STATUSES) {
      for (const to of LIFECYCLE_STATUSES) {
        if (allowedTargets(from).includes(to)) continue;
        refused++;
        const error = (() => {
          try {
            assertTransition(from, to);
          } catch (e) {
            return e as PlatformError;
          }
        })();
        expect(error?.extensions).toMatchObject({
          code: 'INVALID_LIFECYCLE_TRANSITION',
          from,
          to,
          allowed: [...allowedTargets(from)],
        });
        for (const target of allowedTargets(from)) expect(error?.message).toContain(target);
      }
    }
    expect(refused).toBe(25 - 5);
  });

  it('says RETIRED is final', () => {
    expect(() => assertTransition('RETIRED', 'ACTIVE')).toThrow(/RETIRED is final/);
  });

  it('finds the path of legal moves between two statuses', () => {
    expect(pathBetween('DRAFT', 'ACTIVE')).toEqual(['PROVISIONED', 'ACTIVE']);
    expect(pathBetween('ACTIVE', 'ACTIVE')).toEqual([]);
    expect(pathBetween('ACTIVE', 'RETIRED')).toEqual(['SUSPENDED', 'RETIRED']);
    expect(pathBetween('RETIRED', 'ACTIVE')).toBeNull();
  });
});
