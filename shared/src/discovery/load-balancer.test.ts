import { createBalancerPool, createLoadBalancer, eligibleCandidates } from './load-balancer';
import { LOAD_BALANCING_STRATEGIES } from './types';
import type { Candidate, RandomSource } from './types';
import { mulberry32 } from '../random';

const cand = (id: string, over: Partial<Candidate> = {}): Candidate => ({
  id,
  weight: 1,
  health: 'HEALTHY',
  circuit: 'CLOSED',
  inFlight: 0,
  ...over,
});

function countPicks(pick: () => Candidate | null, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = pick()?.id ?? 'null';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('eligibility (every strategy)', () => {
  const mixed = [
    cand('healthy', {}),
    cand('half-open', { circuit: 'HALF_OPEN' }),
    cand('degraded', { health: 'DEGRADED' }),
    cand('unhealthy', { health: 'UNHEALTHY' }),
    cand('unknown', { health: 'UNKNOWN' }),
    cand('open', { circuit: 'OPEN' }),
    cand('full', { capacity: 2, inFlight: 2 }),
    cand('over-full', { capacity: 2, inFlight: 3 }),
    cand('zero-weight', { weight: 0 }),
    cand('negative-weight', { weight: -1 }),
    cand('nan-weight', { weight: Number.NaN }),
    cand('infinite-weight', { weight: Number.POSITIVE_INFINITY }),
  ];

  it.each(LOAD_BALANCING_STRATEGIES)(
    '%s picks only HEALTHY usable instances, HALF_OPEN included',
    (strategy) => {
      const lb = createLoadBalancer(strategy, { random: mulberry32(1) });
      const counts = countPicks(() => lb.pick(mixed), 1000);
      expect([...counts.keys()].sort()).toEqual(['half-open', 'healthy']);
    },
  );

  it.each(LOAD_BALANCING_STRATEGIES)(
    '%s falls back to DEGRADED only when no HEALTHY is eligible',
    (strategy) => {
      const lb = createLoadBalancer(strategy, { random: mulberry32(2) });
      const noHealthy = mixed.filter((c) => c.id !== 'healthy' && c.id !== 'half-open');
      const counts = countPicks(() => lb.pick(noHealthy), 1000);
      expect([...counts.entries()]).toEqual([['degraded', 1000]]);
    },
  );

  it.each(LOAD_BALANCING_STRATEGIES)('%s returns null when nothing is eligible', (strategy) => {
    const lb = createLoadBalancer(strategy, { random: mulberry32(3) });
    const none = mixed.filter((c) => !['healthy', 'half-open', 'degraded'].includes(c.id));
    expect(lb.pick(none)).toBeNull();
    expect(lb.pick([])).toBeNull();
  });

  it('lists the eligible candidates sorted by id, whatever the input order', () => {
    expect(eligibleCandidates([...mixed].reverse()).map((c) => c.id)).toEqual(['half-open', 'healthy']);
  });

  it('rejects an unknown strategy', () => {
    expect(() => createLoadBalancer('FASTEST' as never)).toThrow(/unknown load balancing strategy/);
  });
});

describe('ROUND_ROBIN', () => {
  it('is exactly fair, whatever order the caller lists instances in', () => {
    const random = mulberry32(4);
    const pool = [cand('a'), cand('b'), cand('c')];
    const lb = createLoadBalancer('ROUND_ROBIN');
    const counts = countPicks(() => lb.pick(shuffled(pool, random)), 3000);
    expect(Object.fromEntries(counts)).toEqual({ a: 1000, b: 1000, c: 1000 });
  });

  it('stays fair when an instance joins or leaves mid-way', () => {
    const lb = createLoadBalancer('ROUND_ROBIN');
    expect(Object.fromEntries(countPicks(() => lb.pick([cand('a'), cand('b'), cand('c')]), 300))).toEqual({
      a: 100,
      b: 100,
      c: 100,
    });
    const four = [cand('d'), cand('c'), cand('b'), cand('a')];
    expect(Object.fromEntries(countPicks(() => lb.pick(four), 400))).toEqual({
      a: 100,
      b: 100,
      c: 100,
      d: 100,
    });
    const withoutB = [cand('a'), cand('c'), cand('d')];
    expect(Object.fromEntries(countPicks(() => lb.pick(withoutB), 300))).toEqual({ a: 100, c: 100, d: 100 });
  });
});

describe('LEAST_CONNECTIONS', () => {
  it('always picks an instance with the fewest tasks in flight', () => {
    const random = mulberry32(5);
    const inFlight = new Map([
      ['a', 3],
      ['b', 0],
      ['c', 7],
      ['d', 1],
    ]);
    const lb = createLoadBalancer('LEAST_CONNECTIONS');
    for (let i = 0; i < 1000; i++) {
      const pool = [...inFlight].map(([id, n]) => cand(id, { inFlight: n }));
      const picked = lb.pick(pool);
      expect(picked?.inFlight).toBe(Math.min(...inFlight.values()));
      inFlight.set(picked?.id ?? '', (picked?.inFlight ?? 0) + 1);
      // Some task somewhere finishes.
      const done = [...inFlight.keys()][Math.floor(random() * inFlight.size)] ?? '';
      inFlight.set(done, Math.max(0, (inFlight.get(done) ?? 0) - 1));
    }
  });

  it('rotates among equally loaded instances', () => {
    const lb = createLoadBalancer('LEAST_CONNECTIONS');
    const pool = [cand('c', { inFlight: 2 }), cand('b', { inFlight: 2 }), cand('a', { inFlight: 2 })];
    expect(Array.from({ length: 6 }, () => lb.pick(pool)?.id)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    const busyB = [cand('a', { inFlight: 1 }), cand('b', { inFlight: 5 }), cand('c', { inFlight: 1 })];
    expect(Array.from({ length: 4 }, () => lb.pick(busyB)?.id)).toEqual(['a', 'c', 'a', 'c']);
  });
});

describe('WEIGHTED (smooth weighted round robin)', () => {
  const pool = [cand('heavy', { weight: 10 }), cand('light', { weight: 1 }), cand('tiny', { weight: 0.3 })];

  it('shares traffic in proportion to fractional weights, deterministically', () => {
    const lb = createLoadBalancer('WEIGHTED');
    const picks = Array.from({ length: 10_000 }, () => lb.pick(pool)?.id ?? 'null');
    for (const c of pool) {
      const count = picks.filter((id) => id === c.id).length;
      const expected = (c.weight / 11.3) * 10_000;
      expect(Math.abs(count / 10_000 - c.weight / 11.3)).toBeLessThanOrEqual(0.02);
      expect(Math.abs(count - expected)).toBeLessThanOrEqual(1);
    }
    // Deterministic: a second balancer makes the very same choices.
    const again = createLoadBalancer('WEIGHTED');
    expect(Array.from({ length: 10_000 }, () => again.pick(pool)?.id ?? 'null')).toEqual(picks);
  });

  it('interleaves instead of sending bursts', () => {
    const lb = createLoadBalancer('WEIGHTED');
    const picks = Array.from({ length: 2000 }, () => lb.pick(pool)?.id);
    // Expected spacing is 11.3 / weight picks (37.7 for tiny, 11.3 for light); smooth WRR stays close to it.
    for (let i = 0; i + 45 <= picks.length; i++) expect(picks.slice(i, i + 45)).toContain('tiny');
    for (let i = 0; i + 16 <= picks.length; i++) expect(picks.slice(i, i + 16)).toContain('light');
  });

  it('adapts when the pool changes', () => {
    const lb = createLoadBalancer('WEIGHTED');
    countPicks(() => lb.pick(pool), 100);
    const counts = countPicks(() => lb.pick([cand('light', { weight: 1 }), cand('new', { weight: 3 })]), 400);
    expect(Object.fromEntries(counts)).toEqual({ light: 100, new: 300 });
  });
});

describe('RANDOM', () => {
  it('is roughly uniform', () => {
    const lb = createLoadBalancer('RANDOM', { random: mulberry32(6) });
    const counts = countPicks(() => lb.pick([cand('a'), cand('b'), cand('c')]), 30_000);
    for (const id of ['a', 'b', 'c'])
      expect(Math.abs((counts.get(id) ?? 0) / 30_000 - 1 / 3)).toBeLessThan(0.02);
  });
});

describe('POWER_OF_TWO_CHOICES', () => {
  it('favours an idle instance over busy ones', () => {
    const lb = createLoadBalancer('POWER_OF_TWO_CHOICES', { random: mulberry32(7) });
    const pool = [
      cand('a', { inFlight: 5 }),
      cand('b', { inFlight: 5 }),
      cand('idle'),
      cand('d', { inFlight: 5 }),
    ];
    const counts = countPicks(() => lb.pick(pool), 10_000);
    // Chosen whenever it is one of the two drawn: 1 - (3/4 * 2/3) = 50%, twice the uniform 25%.
    expect((counts.get('idle') ?? 0) / 10_000).toBeGreaterThan(0.4);
  });

  it('never picks the most loaded of three when the other two are less loaded', () => {
    const lb = createLoadBalancer('POWER_OF_TWO_CHOICES', { random: mulberry32(8) });
    const byCount = [cand('a', { inFlight: 1 }), cand('b', { inFlight: 2 }), cand('c', { inFlight: 9 })];
    expect(countPicks(() => lb.pick(byCount), 1000).has('c')).toBe(false);
    const byRatio = [
      cand('a', { inFlight: 8, capacity: 100 }),
      cand('b', { inFlight: 2, capacity: 10 }),
      cand('c', { inFlight: 3, capacity: 4 }),
    ];
    expect(countPicks(() => lb.pick(byRatio), 1000).has('c')).toBe(false);
  });

  it('breaks load ties by weight', () => {
    const lb = createLoadBalancer('POWER_OF_TWO_CHOICES', { random: mulberry32(9) });
    const pool = [cand('big', { weight: 5, inFlight: 1 }), cand('small', { weight: 1, inFlight: 1 })];
    expect(Object.fromEntries(countPicks(() => lb.pick(pool), 100))).toEqual({ big: 100 });
  });
});

describe('balancer pool', () => {
  it('keeps one balancer per pool (the rotation goes on) and at most `max`, dropping the least recently used', () => {
    const pool = createBalancerPool(2);
    const instances = [cand('a'), cand('b')];
    expect(pool.get('x', 'ROUND_ROBIN').pick(instances)?.id).toBe('a');
    expect(pool.get('x', 'ROUND_ROBIN').pick(instances)?.id).toBe('b');
    pool.get('y', 'ROUND_ROBIN').pick(instances);
    pool.get('x', 'ROUND_ROBIN'); // x used last: y is the one to go
    for (let i = 0; i < 1000; i++) pool.get(`z${i}`, 'WEIGHTED');
    expect(pool.size).toBe(2);
    // z998 and z999 are kept; x was dropped, so its rotation starts again.
    expect(pool.get('x', 'ROUND_ROBIN').pick(instances)?.id).toBe('a');
  });
});
