import type { BreakerPresetName } from '@waooaw/shared';
import type { AgentManifest } from '../manifest';

export type Tier = AgentManifest['tier'];

/** Simulated handler time in ms, drawn uniformly from [min, max] for each task (the bench's tiers). */
export interface WorkRange {
  min: number;
  max: number;
}

/** A tier of a fleet: its load-balancing weight, its share of the instances and, optionally, its work time. */
export interface TierSpec {
  tier: Tier;
  weight: number;
  share: number;
  workMs?: WorkRange;
}

/** The bench's fleet: 10x / 1x / 0.3x weights for 1/6 premium, 1/2 standard, 1/3 budget instances. */
export const DEFAULT_FLEET_TIERS: readonly TierSpec[] = [
  { tier: 'PREMIUM', weight: 10, share: 1 / 6 },
  { tier: 'STANDARD', weight: 1, share: 1 / 2 },
  { tier: 'BUDGET', weight: 0.3, share: 1 / 3 },
];

/** One agent instance the runtime hosts. */
export interface InstanceSpec {
  instanceId: string;
  manifest: AgentManifest;
  tier: Tier;
  weight: number;
  concurrency: number;
  breakerPreset: BreakerPresetName;
  /** When set, every task takes at least this long (the skill runs, then a timer pads the rest). */
  workMs?: WorkRange;
}

export interface FleetOptions {
  runtimeId: string;
  /** Total instances spread over the agents; absent: one instance of each agent as its manifest says. */
  size?: number;
  tiers?: readonly TierSpec[];
  /** Only these agents (handles); absent: the whole catalogue. */
  handles?: readonly string[];
  /** Tasks each instance runs at once; absent: the manifest's runtime.concurrency. */
  concurrency?: number;
  /** Work time of every instance whose tier does not set one; absent: as fast as the skill is. */
  workMs?: WorkRange;
}

const TIERS: readonly Tier[] = ['PREMIUM', 'STANDARD', 'BUDGET'];

/** Parses `10-30` (or `25` for a fixed time) into a work range in ms. */
export function parseWorkRange(text: string): WorkRange {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  const min = Number(match?.[1]);
  const max = match?.[2] === undefined ? min : Number(match[2]);
  if (!match || !(max >= min)) throw new Error(`"${text}" is not a work time in ms like 10-30 or 25`);
  return { min, max };
}

/**
 * Parses `PREMIUM:10:20,STANDARD:1:60,BUDGET:0.3:40` (tier:weight:share; shares are relative, so
 * counts work as well as fractions), each optionally with a work time: `PREMIUM:10:20:10-30`.
 */
export function parseTiers(text: string): TierSpec[] {
  const specs = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [tier, weight, share, work, ...rest] = part.split(':');
      const spec: TierSpec = {
        tier: tier?.toUpperCase() as Tier,
        weight: Number(weight),
        share: Number(share),
      };
      if (!TIERS.includes(spec.tier) || !(spec.weight > 0) || !(spec.share > 0) || rest.length > 0)
        throw new Error(
          `"${part}" is not tier:weight:share[:workMs] (tier one of ${TIERS.join(', ')}, weight and share above 0)`,
        );
      if (work !== undefined) spec.workMs = parseWorkRange(work);
      return spec;
    });
  if (specs.length === 0) throw new Error('give at least one tier, e.g. PREMIUM:10:1,STANDARD:1:3');
  return specs;
}

/** Which tier each of `size` instances gets: counts by largest remainder, spread evenly over the fleet. */
function tierSequence(size: number, tiers: readonly TierSpec[]): TierSpec[] {
  const total = tiers.reduce((sum, t) => sum + t.share, 0);
  const exact = tiers.map((t) => (t.share / total) * size);
  const counts = exact.map(Math.floor);
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r);
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < size; k++)
    counts[byRemainder[k % tiers.length]!.i]! += 1;
  // Each tier's instances sit at evenly spaced positions, so every agent gets a mix of tiers.
  return tiers
    .flatMap((t, i) => Array.from({ length: counts[i]! }, (_, k) => ({ t, at: (k + 0.5) / counts[i]! })))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.t);
}

/**
 * The instances a runtime hosts. Instance ids are stable (`<runtimeId>:<handle>:<n>`), so a
 * restarted runtime takes its instances back rather than leaving ghosts behind.
 */
export function planFleet(
  catalogue: readonly { manifest: AgentManifest }[],
  options: FleetOptions,
): InstanceSpec[] {
  const wanted = options.handles ? new Set(options.handles) : null;
  const manifests = catalogue
    .map((e) => e.manifest)
    .filter((m) => !wanted || wanted.has(m.handle))
    .sort((a, b) => a.handle.localeCompare(b.handle));
  if (wanted) {
    const unknown = [...wanted].filter((h) => !manifests.some((m) => m.handle === h));
    if (unknown.length > 0) throw new Error(`no agent with handle ${unknown.join(', ')} in the catalogue`);
  }
  if (manifests.length === 0) throw new Error('the fleet has no agents');
  const preset = (m: AgentManifest): BreakerPresetName =>
    // Customers wait on their agents: trip fast. Platform work is batch-like and retries well.
    m.kind === 'CUSTOMER' ? 'AGGRESSIVE' : 'CONSERVATIVE';
  if (options.size === undefined) {
    return manifests.map((m) => ({
      instanceId: `${options.runtimeId}:${m.handle}:0`,
      manifest: m,
      tier: m.tier,
      weight: m.runtime.weight,
      concurrency: options.concurrency ?? m.runtime.concurrency,
      breakerPreset: preset(m),
      ...(options.workMs ? { workMs: options.workMs } : {}),
    }));
  }
  if (!Number.isInteger(options.size) || options.size < 1)
    throw new Error('the fleet size must be a whole number above 0');
  const tiers = tierSequence(options.size, options.tiers ?? DEFAULT_FLEET_TIERS);
  const perAgent = new Map<string, number>();
  return tiers.map((tier, i) => {
    const m = manifests[i % manifests.length]!;
    const n = perAgent.get(m.handle) ?? 0;
    perAgent.set(m.handle, n + 1);
    const workMs = tier.workMs ?? options.workMs;
    return {
      instanceId: `${options.runtimeId}:${m.handle}:${n}`,
      manifest: m,
      tier: tier.tier,
      weight: tier.weight,
      concurrency: options.concurrency ?? m.runtime.concurrency,
      breakerPreset: preset(m),
      ...(workMs ? { workMs } : {}),
    };
  });
}
