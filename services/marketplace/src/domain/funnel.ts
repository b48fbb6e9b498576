// The conversion funnel of a cohort of trials (those asked for in a window). Pure: figures.ts reads
// the facts of each trial with one aggregation and hands them here.
import type { TrialStatus } from '@waooaw/shared';
import { ratio } from '@waooaw/shared';
import type { AgentCategory } from '../models/listing';

const DAY_MS = 86_400_000;
/** The day a trial is judged "active at day 7" on, counted from when it started. */
export const ACTIVE_DAY = 7;

/** What the funnel needs of one trial. */
export interface TrialFacts {
  agentId: string;
  category: AgentCategory;
  status: TrialStatus;
  /** When activation completed (null: it never started, or is still provisioning). */
  startedAt: Date | null;
  /** When it stopped running: expired, cancelled or converted (null while it runs). */
  endedAt: Date | null;
  /** When its conversion completed (null unless converted). */
  convertedAt: Date | null;
  /** It has at least one deliverable. */
  hasDeliverable: boolean;
}

export interface FunnelStages {
  requested: number;
  started: number;
  firstDeliverable: number;
  reachedDay7: number;
  activeAtDay7: number;
  converted: number;
  cancelled: number;
  expired: number;
  open: number;
  firstDeliverableRate: number | null;
  day7Rate: number | null;
  conversionRate: number | null;
  cancellationRate: number | null;
}

type Counts = Omit<FunnelStages, 'firstDeliverableRate' | 'day7Rate' | 'conversionRate' | 'cancellationRate'>;

const none = (): Counts => ({
  requested: 0,
  started: 0,
  firstDeliverable: 0,
  reachedDay7: 0,
  activeAtDay7: 0,
  converted: 0,
  cancelled: 0,
  expired: 0,
  open: 0,
});

/**
 * Adds one trial to `counts`. Every stage after `requested` counts started trials only, each on its
 * own (a trial converted before its first deliverable counts as converted, not as delivered):
 * - reachedDay7: its 7th day (startedAt + 7 days) has come by `now`; only those can be judged;
 * - activeAtDay7: of those, trials still running at day 7 (not ended before it) or converted by then;
 * - converted / cancelled / expired / open: where it stands now (PROVISIONING counts as not started).
 */
function add(counts: Counts, t: TrialFacts, now: Date): void {
  counts.requested++;
  if (t.startedAt === null) return;
  counts.started++;
  if (t.hasDeliverable) counts.firstDeliverable++;
  const day7 = t.startedAt.getTime() + ACTIVE_DAY * DAY_MS;
  if (day7 <= now.getTime()) {
    counts.reachedDay7++;
    const runningAtDay7 = t.endedAt === null || t.endedAt.getTime() >= day7;
    const convertedByDay7 = t.convertedAt !== null && t.convertedAt.getTime() <= day7;
    if (runningAtDay7 || convertedByDay7) counts.activeAtDay7++;
  }
  if (t.status === 'CONVERTED') counts.converted++;
  else if (t.status === 'CANCELLED') counts.cancelled++;
  else if (t.status === 'EXPIRED') counts.expired++;
  else counts.open++;
}

const withRates = (c: Counts): FunnelStages => ({
  ...c,
  firstDeliverableRate: ratio(c.firstDeliverable, c.started),
  day7Rate: ratio(c.activeAtDay7, c.reachedDay7),
  conversionRate: ratio(c.converted, c.started),
  cancellationRate: ratio(c.cancelled, c.started),
});

/** The funnel of a cohort of trials, as of `now`. */
export function funnelStages(trials: readonly TrialFacts[], now: Date): FunnelStages {
  const counts = none();
  for (const t of trials) add(counts, t, now);
  return withRates(counts);
}

export type FunnelGrouping = 'AGENT' | 'CATEGORY';

export interface FunnelGroupFigures {
  agentId: string | null;
  category: AgentCategory;
  stages: FunnelStages;
}

/**
 * The cohort's funnel per agent or per category, the largest cohorts first (ties by key, so the
 * order is stable), at most `first` groups.
 */
export function funnelGroups(
  trials: readonly TrialFacts[],
  now: Date,
  groupBy: FunnelGrouping,
  first: number,
): FunnelGroupFigures[] {
  const groups = new Map<string, { agentId: string | null; category: AgentCategory; counts: Counts }>();
  for (const t of trials) {
    const key = groupBy === 'AGENT' ? t.agentId : t.category;
    let group = groups.get(key);
    if (!group) {
      group = { agentId: groupBy === 'AGENT' ? t.agentId : null, category: t.category, counts: none() };
      groups.set(key, group);
    }
    add(group.counts, t, now);
  }
  return [...groups.entries()]
    .sort(([ka, a], [kb, b]) => b.counts.requested - a.counts.requested || ka.localeCompare(kb))
    .slice(0, first)
    .map(([, g]) => ({ agentId: g.agentId, category: g.category, stages: withRates(g.counts) }));
}
