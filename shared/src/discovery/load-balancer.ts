/**
 * Instance selection. Domain logic we own: no library models our health/breaker/selection rules, and
 * discovery and orchestration must choose with the very same code, so it is pure and has no dependencies.
 */
import { LOAD_BALANCING_STRATEGIES } from './types';
import type { Candidate, LoadBalancingStrategy, RandomSource } from './types';

export interface LoadBalancer {
  readonly strategy: LoadBalancingStrategy;
  /** Picks one candidate, or null when none is eligible. */
  pick(candidates: readonly Candidate[]): Candidate | null;
}

const byId = (a: Candidate, b: Candidate): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function isUsable(c: Candidate): boolean {
  if (c.health !== 'HEALTHY' && c.health !== 'DEGRADED') return false;
  if (c.circuit === 'OPEN') return false;
  if (!Number.isFinite(c.weight) || c.weight <= 0) return false;
  return c.capacity === undefined || c.inFlight < c.capacity;
}

/**
 * Applied by every strategy first, so no strategy can route to an instance that is down, tripped or
 * full. DEGRADED instances are a fallback only: sending them traffic while a HEALTHY one can take it
 * would slow users down for nothing. The result is sorted by id so that strategies do not depend on the
 * order the caller happens to list instances in.
 */
export function eligibleCandidates(candidates: readonly Candidate[]): Candidate[] {
  const usable = candidates.filter(isUsable);
  const healthy = usable.filter((c) => c.health === 'HEALTHY');
  return (healthy.length > 0 ? healthy : usable).sort(byId);
}

/** The first of `sorted` whose id comes after `lastId`, wrapping round: fair rotation over a changing set. */
function nextAfter(sorted: readonly Candidate[], lastId: string | null): Candidate | undefined {
  if (lastId === null) return sorted[0];
  return sorted.find((c) => c.id > lastId) ?? sorted[0];
}

function randomIndex(random: RandomSource, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/**
 * Fill ratios are only comparable when both instances declare a capacity; otherwise raw counts are the
 * one figure they share. Equal load goes to the bigger instance (weight), then to the first drawn.
 */
function lessLoaded(a: Candidate, b: Candidate): Candidate {
  const ratios = a.capacity !== undefined && b.capacity !== undefined;
  const load = (c: Candidate): number =>
    ratios && c.capacity !== undefined ? c.inFlight / c.capacity : c.inFlight;
  const [la, lb] = [load(a), load(b)];
  if (la !== lb) return la < lb ? a : b;
  return b.weight > a.weight ? b : a;
}

/**
 * One balancer per pool, because fairness needs memory (the last id picked, the smooth weighted
 * counters). State is keyed by candidate id, so pools may grow, shrink or reorder between picks.
 */
export function createLoadBalancer(
  strategy: LoadBalancingStrategy,
  options: { random?: RandomSource } = {},
): LoadBalancer {
  if (!LOAD_BALANCING_STRATEGIES.includes(strategy)) {
    throw new Error(`unknown load balancing strategy ${strategy}`);
  }
  const random = options.random ?? Math.random;
  let lastId: string | null = null;
  const current = new Map<string, number>();

  const choose = (eligible: Candidate[], all: readonly Candidate[]): Candidate | undefined => {
    switch (strategy) {
      case 'ROUND_ROBIN':
        return nextAfter(eligible, lastId);
      case 'LEAST_CONNECTIONS': {
        // Rotating among the tied spreads equal load instead of piling it on the lowest id.
        const least = Math.min(...eligible.map((c) => c.inFlight));
        const tied = eligible.filter((c) => c.inFlight === least);
        return nextAfter(tied, lastId);
      }
      case 'WEIGHTED': {
        // Smooth weighted round robin (as in nginx): spreads the heavy instance's turns between the
        // light ones instead of sending it bursts, and is deterministic.
        const present = new Set(all.map((c) => c.id));
        for (const id of current.keys()) if (!present.has(id)) current.delete(id);
        let total = 0;
        let best: Candidate | undefined;
        let bestCurrent = -Infinity;
        for (const c of eligible) {
          const value = (current.get(c.id) ?? 0) + c.weight;
          current.set(c.id, value);
          total += c.weight;
          if (value > bestCurrent) [best, bestCurrent] = [c, value];
        }
        if (best) current.set(best.id, bestCurrent - total);
        return best;
      }
      case 'RANDOM':
        return eligible[randomIndex(random, eligible.length)];
      case 'POWER_OF_TWO_CHOICES': {
        if (eligible.length === 1) return eligible[0];
        const i = randomIndex(random, eligible.length);
        let j = randomIndex(random, eligible.length - 1);
        if (j >= i) j++;
        const [first, second] = [eligible[i], eligible[j]];
        return first && second ? lessLoaded(first, second) : first;
      }
    }
  };

  return {
    strategy,
    pick(candidates) {
      const eligible = eligibleCandidates(candidates);
      if (eligible.length === 0) return null;
      const picked = choose(eligible, candidates) ?? null;
      if (picked) lastId = picked.id;
      return picked;
    },
  };
}

/**
 * Balancers by pool (what a pick chooses among: strategy, capability, range, agent). Pools follow
 * what callers ask for, so their number has no bound of its own: beyond `max` the least recently
 * used balancer is dropped, which only restarts that pool's rotation.
 */
export function createBalancerPool(max = 10_000) {
  const balancers = new Map<string, LoadBalancer>();
  return {
    get(key: string, strategy: LoadBalancingStrategy): LoadBalancer {
      let balancer = balancers.get(key);
      if (balancer)
        balancers.delete(key); // re-inserted below: the Map's order is then least recently used first
      else balancer = createLoadBalancer(strategy);
      balancers.set(key, balancer);
      if (balancers.size > max) balancers.delete(balancers.keys().next().value!);
      return balancer;
    },
    get size() {
      return balancers.size;
    },
  };
}
