import { median, percentile, round, summarize } from './stats';

describe('percentiles (nearest rank)', () => {
  it('never invents a value: p50 of 1..10 is 5, p95 and p99 are 10', () => {
    const values = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 100)).toBe(10);
  });

  it('p95 of 1..100 is 95 and p99 is 99', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 99)).toBe(99);
  });

  it('summarizes unsorted values and reports NaN for none', () => {
    const s = summarize([30, 10, 20, 40]);
    expect(s).toEqual({ count: 4, avg: 25, p50: 20, p95: 40, p99: 40, max: 40 });
    const none = summarize([]);
    expect(none.count).toBe(0);
    expect(Number.isNaN(none.p95)).toBe(true);
  });

  it('rounds for reports and takes medians of runs', () => {
    expect(round(12.345)).toBe(12.3);
    expect(round(1234.5)).toBe(1235);
    expect(round(NaN)).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
  });
});
