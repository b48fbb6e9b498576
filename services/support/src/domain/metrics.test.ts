import type { SlaVisitRecord } from '../models/ticket';
import { durationStats, percentile, supportMetrics, tierMetrics } from './metrics';

const T0 = Date.parse('2031-01-01T00:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);

function visit(
  tier: SlaVisitRecord['tier'],
  v: {
    in?: number;
    first?: number;
    end?: number;
    outcome?: 'RESOLVED' | 'ESCALATED';
    due?: number;
    breach?: number;
    paused?: number;
  },
): SlaVisitRecord {
  const enteredAt = at(v.in ?? 0);
  return {
    tier,
    enteredAt,
    targetMs: 60_000,
    dueAt: at((v.in ?? 0) + (v.due ?? 60)),
    firstResponseAt: v.first === undefined ? null : at((v.in ?? 0) + v.first),
    endedAt: v.end === undefined ? null : at((v.in ?? 0) + v.end),
    outcome: v.outcome ?? null,
    breachedAt: v.breach === undefined ? null : at((v.in ?? 0) + v.breach),
    pausedAt: null,
    pausedMs: (v.paused ?? 0) * 1000,
  };
}

describe('percentiles (linear interpolation)', () => {
  it('matches the textbook values', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(
      percentile(
        Array.from({ length: 20 }, (_, i) => i + 1),
        0.95,
      ),
    ).toBeCloseTo(19.05);
    expect(durationStats([10, 20, 30])).toEqual({ count: 3, medianSeconds: 20, p95Seconds: 29 });
  });
});

describe('tier metrics', () => {
  it('counts stays, rates, durations and compliance against the seed target', () => {
    const visits = [
      visit('L1', { first: 5, end: 5, outcome: 'RESOLVED' }),
      visit('L1', { first: 20, end: 20, outcome: 'RESOLVED' }),
      visit('L1', { first: 50, end: 90, outcome: 'RESOLVED' }), // resolved late, never flagged
      visit('L1', { first: 10, end: 10, outcome: 'ESCALATED' }),
      visit('L1', { end: 60, outcome: 'ESCALATED', breach: 60 }), // SLA breach
      visit('L1', {}), // still at L1
      visit('L2', { first: 100, end: 300, outcome: 'RESOLVED', due: 900 }),
    ];
    const l1 = tierMetrics('L1', visits, 60);
    expect(l1).toEqual({
      tier: 'L1',
      handled: 6,
      resolved: 3,
      escalated: 2,
      open: 1,
      resolutionRate: 0.6,
      firstResponse: { count: 4, medianSeconds: 15, p95Seconds: 45.5 },
      resolution: { count: 3, medianSeconds: 20, p95Seconds: 83 },
      slaBreaches: 1,
      slaCompliance: 0.6,
      configuredSlaSeconds: 60,
      target: { resolutionRate: 0.9, withinSeconds: 60 },
      resolvedWithinTargetRate: 0.4,
      meetsTarget: false,
    });
    const l2 = tierMetrics('L2', visits, 900);
    expect(l2).toMatchObject({
      handled: 1,
      resolved: 1,
      resolutionRate: 1,
      resolvedWithinTargetRate: 1,
      meetsTarget: true,
    });
    expect(tierMetrics('L3', visits, 7200)).toMatchObject({
      handled: 0,
      resolutionRate: null,
      slaCompliance: null,
      meetsTarget: null,
      firstResponse: { count: 0, medianSeconds: null, p95Seconds: null },
      target: { resolutionRate: 1, withinSeconds: 7200 },
    });
  });

  it('does not count time waiting on the customer in resolution times', () => {
    const m = tierMetrics(
      'L3',
      [visit('L3', { first: 60, end: 9000, outcome: 'RESOLVED', paused: 3600, due: 10800 })],
      7200,
    );
    expect(m.resolution.medianSeconds).toBe(5400);
    expect(m.resolvedWithinTargetRate).toBe(1);
  });

  it('counts only stays that began in the window, and tickets that have one', () => {
    const tickets = [
      {
        sla: [
          visit('L1', { in: -10, end: 5, outcome: 'ESCALATED' }),
          visit('L2', { in: 10, end: 20, outcome: 'RESOLVED' }),
        ],
      },
      { sla: [visit('L1', { in: 7200, end: 7201, outcome: 'RESOLVED' })] },
    ];
    const m = supportMetrics(tickets, { since: at(0), until: at(3600) }, { L1: 60, L2: 900, L3: 7200 });
    expect(m.tickets).toBe(1);
    expect(m.tiers.map((t) => [t.tier, t.handled])).toEqual([
      ['L1', 0],
      ['L2', 1],
      ['L3', 0],
    ]);
  });
});
