import type { SupportTier } from '@waooaw/shared';
import { SUPPORT_TIERS } from '@waooaw/shared';
import type { SlaVisitRecord } from '../models/ticket';
import { SEED_TARGETS } from './sla';

export interface DurationStats {
  count: number;
  medianSeconds: number | null;
  p95Seconds: number | null;
}

export interface TierMetrics {
  tier: SupportTier;
  handled: number;
  resolved: number;
  escalated: number;
  open: number;
  resolutionRate: number | null;
  firstResponse: DurationStats;
  resolution: DurationStats;
  slaBreaches: number;
  slaCompliance: number | null;
  configuredSlaSeconds: number;
  target: { resolutionRate: number; withinSeconds: number };
  resolvedWithinTargetRate: number | null;
  meetsTarget: boolean | null;
}

export interface SupportMetricsResult {
  since: Date;
  until: Date;
  tickets: number;
  tiers: TierMetrics[];
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

/**
 * The p-quantile (0..1) of the values by linear interpolation between closest ranks (numpy's
 * default): the median of [1, 2, 3, 4] is 2.5, the 95th percentile of 1..20 is 19.05. Null when empty.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function durationStats(seconds: readonly number[]): DurationStats {
  const at = (p: number) => {
    const v = percentile(seconds, p);
    return v === null ? null : round(v);
  };
  return { count: seconds.length, medianSeconds: at(0.5), p95Seconds: at(0.95) };
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : round(part / whole, 4));
const secondsBetween = (from: Date, to: Date, minusMs = 0) =>
  Math.max(0, to.getTime() - from.getTime() - minusMs) / 1000;

/**
 * One tier's figures from its stays (each stay at a tier that began in the window counts once):
 * - handled: stays; resolved / escalated: how the ended ones ended; open: still at the tier;
 * - resolutionRate: resolved / ended stays;
 * - firstResponse: entering the tier -> its first answer; resolution: entering -> resolved there,
 *   minus the time spent waiting on the customer;
 * - slaCompliance: ended stays that ended by their (configured) deadline and were never flagged;
 * - resolvedWithinTargetRate: ended stays resolved there within the seeds' time (60 s / 15 min /
 *   2 h) / ended stays, beside the seeds' rate (90% / 80% / 100%): meetsTarget compares the two.
 */
export function tierMetrics(
  tier: SupportTier,
  visits: readonly SlaVisitRecord[],
  configuredSlaSeconds: number,
): TierMetrics {
  const mine = visits.filter((v) => v.tier === tier);
  const ended = mine.filter((v) => v.endedAt !== null);
  const resolved = ended.filter((v) => v.outcome === 'RESOLVED');
  const target = SEED_TARGETS[tier];
  const resolutionSeconds = resolved.map((v) => secondsBetween(v.enteredAt, v.endedAt!, v.pausedMs));
  const kept = ended.filter((v) => !v.breachedAt && v.endedAt!.getTime() <= v.dueAt.getTime()).length;
  const withinTarget = resolutionSeconds.filter((s) => s <= target.withinSeconds).length;
  const resolvedWithinTargetRate = ratio(withinTarget, ended.length);
  return {
    tier,
    handled: mine.length,
    resolved: resolved.length,
    escalated: ended.length - resolved.length,
    open: mine.length - ended.length,
    resolutionRate: ratio(resolved.length, ended.length),
    firstResponse: durationStats(
      mine.filter((v) => v.firstResponseAt).map((v) => secondsBetween(v.enteredAt, v.firstResponseAt!)),
    ),
    resolution: durationStats(resolutionSeconds),
    slaBreaches: mine.filter((v) => v.breachedAt).length,
    slaCompliance: ratio(kept, ended.length),
    configuredSlaSeconds,
    target,
    resolvedWithinTargetRate,
    meetsTarget: resolvedWithinTargetRate === null ? null : resolvedWithinTargetRate >= target.resolutionRate,
  };
}

/** Every tier's figures over the stays that began in [since, until). */
export function supportMetrics(
  tickets: readonly { sla: readonly SlaVisitRecord[] }[],
  window: { since: Date; until: Date },
  configuredSlaSeconds: Record<SupportTier, number>,
): SupportMetricsResult {
  const inWindow = (v: SlaVisitRecord) =>
    v.enteredAt.getTime() >= window.since.getTime() && v.enteredAt.getTime() < window.until.getTime();
  const counted = tickets.filter((t) => t.sla.some(inWindow));
  const visits = counted.flatMap((t) => t.sla.filter(inWindow));
  return {
    since: window.since,
    until: window.until,
    tickets: counted.length,
    tiers: SUPPORT_TIERS.map((tier) => tierMetrics(tier, visits, configuredSlaSeconds[tier])),
  };
}
