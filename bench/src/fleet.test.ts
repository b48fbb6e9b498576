import { apportion, benchHandles, planBenchFleet, tierMap } from './fleet';

describe('the bench fleet', () => {
  it('splits by largest remainder, keeping the total', () => {
    expect(apportion(120, [0.2, 0.5, 0.3])).toEqual([24, 60, 36]);
    expect(apportion(6, [0.2, 0.5, 0.3])).toEqual([1, 3, 2]);
    expect(apportion(7, [1, 1, 1]).reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('has 120 instances, 20/50/30 over the tiers, 10% of them in the two runtimes the failures scenario breaks', () => {
    const plans = planBenchFleet(120);
    expect(plans.map((p) => [p.role, p.size])).toEqual([
      ['main', 108],
      ['errors', 6],
      ['crash', 6],
    ]);
    const totals = [0, 1, 2].map((i) => plans.reduce((n, p) => n + p.counts[i]!, 0));
    expect(totals).toEqual([24, 60, 36]);
    expect(plans[0]!.tiers).toBe('PREMIUM:10:22:10-30,STANDARD:1:54:30-70,BUDGET:0.3:32:70-150');
  });

  it('knows every instance id the runtimes will register, and its tier', () => {
    const handles = benchHandles();
    expect(handles.length).toBeGreaterThanOrEqual(10);
    const plans = planBenchFleet(120);
    const map = tierMap(plans, handles);
    expect(map.size).toBe(120);
    const count = (tier: string) => [...map.values()].filter((t) => t === tier).length;
    expect([count('PREMIUM'), count('STANDARD'), count('BUDGET')]).toEqual([24, 60, 36]);
    expect([...map.keys()].every((id) => /^bench-(main|errors|crash):wow-[a-z-]+:\d+$/.test(id))).toBe(true);
  });
});
