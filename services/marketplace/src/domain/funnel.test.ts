import type { TrialFacts } from './funnel';
import { funnelGroups, funnelStages } from './funnel';

const DAY = 86_400_000;
/** The time the figures are asked for: day 20 of the cohort's month. */
const NOW = new Date('2025-06-20T00:00:00.000Z');
const day = (n: number) => new Date(Date.parse('2025-06-01T00:00:00.000Z') + n * DAY);

const trial = (over: Partial<TrialFacts>): TrialFacts => ({
  agentId: 'a1',
  category: 'MARKETING',
  status: 'ACTIVE',
  startedAt: day(0),
  endedAt: null,
  convertedAt: null,
  hasDeliverable: true,
  ...over,
});

/**
 * A cohort of 8 trials, asked for between day 0 and day 15:
 * T1 a1 started day 0, deliverable, converted day 5           -> day 7 reached; converted by day 7: active
 * T2 a1 started day 0, deliverable, cancelled day 3           -> day 7 reached; ended before it: not active
 * T3 a1 started day 1, deliverable, expired day 8 (7-day)     -> day 7 (day 8) reached; ended at day 8 >= day 8: active
 * T4 a2 started day 2, no deliverable, cancelled day 2        -> reached; not active
 * T5 a2 started day 2, deliverable, expired day 5 (3-day), converted day 10
 *                                                            -> reached (day 9); ended day 5, converted day 10 > 9: not active
 * T6 a2 started day 15, deliverable, still ACTIVE             -> day 7 is day 22 > day 19 (NOW): not reached
 * T7 a3 (SALES) never started: activation failed, CANCELLED  -> requested only
 * T8 a3 (SALES) started day 10, no deliverable, ACTIVE        -> reached (day 17 <= 19); still running: active
 */
const COHORT: TrialFacts[] = [
  trial({ status: 'CONVERTED', endedAt: day(5), convertedAt: day(5) }),
  trial({ status: 'CANCELLED', endedAt: day(3) }),
  trial({ status: 'EXPIRED', startedAt: day(1), endedAt: day(8) }),
  trial({ agentId: 'a2', status: 'CANCELLED', startedAt: day(2), endedAt: day(2), hasDeliverable: false }),
  trial({ agentId: 'a2', status: 'CONVERTED', startedAt: day(2), endedAt: day(5), convertedAt: day(10) }),
  trial({ agentId: 'a2', startedAt: day(15) }),
  trial({
    agentId: 'a3',
    category: 'SALES',
    status: 'CANCELLED',
    startedAt: null,
    endedAt: day(4),
    hasDeliverable: false,
  }),
  trial({ agentId: 'a3', category: 'SALES', startedAt: day(10), hasDeliverable: false }),
];

describe('the conversion funnel of a trial cohort', () => {
  it('counts every stage and rate as worked out by hand', () => {
    // requested 8; started 7 (all but T7); firstDeliverable 5 (T1, T2, T3, T5, T6);
    // reachedDay7 6 (all started but T6); activeAtDay7 3 (T1, T3, T8);
    // converted 2 (T1, T5); cancelled 2 (T2, T4; T7 never started); expired 1 (T3); open 2 (T6, T8).
    // Rates: 5/7 = 0.7143; 3/6 = 0.5; 2/7 = 0.2857; 2/7 = 0.2857.
    expect(funnelStages(COHORT, NOW)).toEqual({
      requested: 8,
      started: 7,
      firstDeliverable: 5,
      reachedDay7: 6,
      activeAtDay7: 3,
      converted: 2,
      cancelled: 2,
      expired: 1,
      open: 2,
      firstDeliverableRate: 0.7143,
      day7Rate: 0.5,
      conversionRate: 0.2857,
      cancellationRate: 0.2857,
    });
  });

  it('groups by agent, largest cohort first', () => {
    const groups = funnelGroups(COHORT, NOW, 'AGENT', 10);
    // a1: T1-T3 (3), a2: T4-T6 (3), a3: T7-T8 (2); a1 and a2 tie on 3 and go by id.
    expect(groups.map((g) => [g.agentId, g.stages.requested])).toEqual([
      ['a1', 3],
      ['a2', 3],
      ['a3', 2],
    ]);
    // a2: started 3; delivered T5, T6 = 2; reached T4, T5 = 2, active none; converted T5, cancelled T4, open T6.
    expect(groups[1]!.stages).toMatchObject({
      started: 3,
      firstDeliverable: 2,
      reachedDay7: 2,
      activeAtDay7: 0,
      converted: 1,
      cancelled: 1,
      open: 1,
      day7Rate: 0,
      conversionRate: 0.3333,
    });
    expect(funnelGroups(COHORT, NOW, 'AGENT', 1)).toHaveLength(1);
  });

  it('groups by category', () => {
    const groups = funnelGroups(COHORT, NOW, 'CATEGORY', 10);
    // MARKETING: T1-T6 (6 requested, 6 started, 2 converted); SALES: T7-T8 (2 requested, 1 started).
    expect(
      groups.map((g) => [g.category, g.agentId, g.stages.requested, g.stages.started, g.stages.converted]),
    ).toEqual([
      ['MARKETING', null, 6, 6, 2],
      ['SALES', null, 2, 1, 0],
    ]);
  });

  it('has no rates for an empty cohort', () => {
    expect(funnelStages([], NOW)).toMatchObject({ requested: 0, conversionRate: null, day7Rate: null });
  });
});
