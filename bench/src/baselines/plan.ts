/**
 * The bench fleet as a plain queue sees it: one queue per tier with the tier's capacity, the share
 * of tasks each tier gets, and the order they are handed out in.
 */
import type { WorkRange } from '@waooaw/agents/runtime';
import { catalogue, parseTiers, parseWorkRange, planFleet } from '@waooaw/agents/runtime';
import { BENCH_TIERS, benchHandles, planBenchFleet } from '../fleet';

/** One tier of the baseline: a queue, and a Worker with the tier's capacity. */
export interface BaselineTier {
  tier: string;
  weight: number;
  instances: number;
  /** Jobs the tier's Worker runs at once: the sum of its instances' concurrency. */
  concurrency: number;
  workMs: WorkRange;
}

/**
 * The bench fleet of `agents` instances as tiers: the instance counts planBenchFleet gives, and the
 * concurrency each instance has in the runtimes (planFleet over the bench's agents), summed per tier.
 */
export function baselineTiers(agents: number, concurrencyPerInstance?: number): BaselineTier[] {
  const plans = planBenchFleet(agents);
  const handles = benchHandles();
  const slots = new Map<string, number>();
  for (const p of plans) {
    if (p.size === 0) continue;
    const specs = planFleet(catalogue, {
      runtimeId: p.runtimeId,
      size: p.size,
      tiers: parseTiers(p.tiers),
      handles,
    });
    for (const spec of specs) slots.set(spec.tier, (slots.get(spec.tier) ?? 0) + spec.concurrency);
  }
  return BENCH_TIERS.map((t, i) => {
    const instances = plans.reduce((n, p) => n + p.counts[i]!, 0);
    return {
      tier: t.tier,
      weight: t.weight,
      instances,
      concurrency:
        concurrencyPerInstance !== undefined ? instances * concurrencyPerInstance : (slots.get(t.tier) ?? 0),
      workMs: parseWorkRange(t.workMs),
    };
  }).filter((t) => t.instances > 0 && t.concurrency > 0);
}

/** Shares of the tasks per tier (in `tiers` order): `measured` over those tiers, else weight x instances. */
export function tierShares(tiers: readonly BaselineTier[], measured?: Record<string, number>): number[] {
  const given = tiers.map((t) => Math.max(0, measured?.[t.tier] ?? 0));
  const raw = given.some((s) => s > 0) ? given : tiers.map((t) => t.weight * t.instances);
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((s) => (sum > 0 ? s / sum : 1 / raw.length));
}

/**
 * Picks the tier of each next task so that every prefix of the sequence follows `shares` as closely
 * as whole tasks allow (the tier furthest behind its share goes next): the mix is the same in a
 * 2-second test as in a 10-minute run, and the same on every run.
 */
export function tierPicker(shares: readonly number[]): () => number {
  const counts = shares.map(() => 0);
  let n = 0;
  return () => {
    n++;
    let best = 0;
    let bestGap = -Infinity;
    for (let i = 0; i < shares.length; i++) {
      const gap = shares[i]! * n - counts[i]!;
      if (gap > bestGap) {
        bestGap = gap;
        best = i;
      }
    }
    counts[best]!++;
    return best;
  };
}

/** Completions a second the handlers can give for this mix: the tier that fills up first decides. */
export function handlerCeilingPerS(tiers: readonly BaselineTier[], shares: readonly number[]): number {
  let ceiling = Infinity;
  tiers.forEach((t, i) => {
    const perS = t.concurrency / ((t.workMs.min + t.workMs.max) / 2 / 1000);
    if (shares[i]! > 0) ceiling = Math.min(ceiling, perS / shares[i]!);
  });
  return ceiling;
}
