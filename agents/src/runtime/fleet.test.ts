import { catalogue } from '../../generated';
import { createLoadTracker } from './load';
import { DEFAULT_FLEET_TIERS, parseTiers, parseWorkRange, planFleet } from './fleet';

describe('planning a runtime fleet', () => {
  it('hosts one instance of each catalogue agent by default, as each definition says', () => {
    const fleet = planFleet(catalogue, { runtimeId: 'rt-a' });
    expect(fleet).toHaveLength(33);
    expect(new Set(fleet.map((i) => i.manifest.handle)).size).toBe(33);
    const math = fleet.find((i) => i.manifest.handle === 'wow-math-mentor')!;
    expect(math).toMatchObject({
      instanceId: 'rt-a:wow-math-mentor:0',
      tier: math.manifest.tier,
      weight: math.manifest.runtime.weight,
      concurrency: math.manifest.runtime.concurrency,
      breakerPreset: 'AGGRESSIVE',
    });
    expect(fleet.find((i) => i.manifest.kind === 'PLATFORM')!.breakerPreset).toBe('CONSERVATIVE');
  });

  it('spreads a 120-instance fleet over the agents in three tiers weighted 10 / 1 / 0.3', () => {
    const fleet = planFleet(catalogue, { runtimeId: 'rt-bench', size: 120, concurrency: 8 });
    expect(fleet).toHaveLength(120);
    const byTier = (tier: string) => fleet.filter((i) => i.tier === tier);
    expect([byTier('PREMIUM').length, byTier('STANDARD').length, byTier('BUDGET').length]).toEqual([
      20, 60, 40,
    ]);
    expect(new Set(byTier('PREMIUM').map((i) => i.weight))).toEqual(new Set([10]));
    expect(new Set(byTier('BUDGET').map((i) => i.weight))).toEqual(new Set([0.3]));
    expect(new Set(fleet.map((i) => i.instanceId)).size).toBe(120);
    expect(new Set(fleet.map((i) => i.manifest.handle)).size).toBe(33);
    expect(fleet.every((i) => i.concurrency === 8)).toBe(true);
    // Deterministic: a restarted runtime takes back the same instances.
    expect(planFleet(catalogue, { runtimeId: 'rt-bench', size: 120 }).map((i) => i.instanceId)).toEqual(
      fleet.map((i) => i.instanceId),
    );
    expect(DEFAULT_FLEET_TIERS.map((t) => t.weight)).toEqual([10, 1, 0.3]);
  });

  it('restricts the fleet to given agents and tiers, and explains bad options', () => {
    const fleet = planFleet(catalogue, {
      runtimeId: 'rt-b',
      size: 4,
      handles: ['wow-math-mentor'],
      tiers: parseTiers('premium:10:1,BUDGET:0.3:1'),
    });
    expect(fleet.map((i) => [i.instanceId, i.tier])).toEqual([
      ['rt-b:wow-math-mentor:0', 'PREMIUM'],
      ['rt-b:wow-math-mentor:1', 'BUDGET'],
      ['rt-b:wow-math-mentor:2', 'PREMIUM'],
      ['rt-b:wow-math-mentor:3', 'BUDGET'],
    ]);
    expect(() => planFleet(catalogue, { runtimeId: 'x', handles: ['wow-nobody'] })).toThrow(/wow-nobody/);
    expect(() => planFleet(catalogue, { runtimeId: 'x', size: 0 })).toThrow(/whole number/);
    expect(() => parseTiers('GOLD:1:1')).toThrow(/tier:weight:share/);
    expect(() => parseTiers('PREMIUM:0:1')).toThrow(/above 0/);
  });

  it('gives each tier its simulated work time, and the fleet-wide one to tiers without', () => {
    const tiers = parseTiers('PREMIUM:10:1:10-30,BUDGET:0.3:1');
    expect(tiers[0]).toEqual({ tier: 'PREMIUM', weight: 10, share: 1, workMs: { min: 10, max: 30 } });
    expect(tiers[1]!.workMs).toBeUndefined();
    const fleet = planFleet(catalogue, {
      runtimeId: 'rt-w',
      size: 2,
      handles: ['wow-math-mentor'],
      tiers,
      workMs: parseWorkRange('70-150'),
    });
    expect(fleet.map((i) => [i.tier, i.workMs])).toEqual([
      ['PREMIUM', { min: 10, max: 30 }],
      ['BUDGET', { min: 70, max: 150 }],
    ]);
    expect(planFleet(catalogue, { runtimeId: 'rt-w', workMs: { min: 5, max: 5 } })[0]!.workMs).toEqual({
      min: 5,
      max: 5,
    });
    expect(planFleet(catalogue, { runtimeId: 'rt-w' })[0]!.workMs).toBeUndefined();
    expect(parseWorkRange('25')).toEqual({ min: 25, max: 25 });
    expect(() => parseWorkRange('30-10')).toThrow(/work time/);
    expect(() => parseTiers('PREMIUM:10:1:fast')).toThrow(/work time/);
  });
});

describe('an instance’s load', () => {
  it('counts tasks in flight, and latency and error rate over the recent window', () => {
    const load = createLoadTracker(3);
    const first = load.begin(0);
    const second = load.begin(0);
    expect(load.snapshot()).toMatchObject({ inFlight: 2, latencyMs: 0, errorRate: 0 });
    first(true, 100);
    second(false, 300);
    second(false, 900); // a second end of the same task is ignored
    expect(load.snapshot()).toEqual({ inFlight: 0, latencyMs: 200, errorRate: 0.5, completed: 1, failed: 1 });
    for (let i = 0; i < 3; i++) load.begin(1000)(true, 1010);
    expect(load.snapshot()).toEqual({ inFlight: 0, latencyMs: 10, errorRate: 0, completed: 4, failed: 1 });
  });
});
