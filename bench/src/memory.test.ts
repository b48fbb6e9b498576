import { lateRssTrendMbPerMin, rssTimeline } from './memory';

const MB = 1024;
/** One sample a second for `seconds`, RSS from `rss(t)` (t in s), MB. */
const series = (seconds: number, rss: (t: number) => number) =>
  Array.from({ length: seconds }, (_, t) => ({ at: t * 1000, kb: rss(t) * MB }));

describe('RSS over a run', () => {
  // A heap that grows to 150 MB and is collected back to 100 MB every 20 s, for 10 minutes.
  const sawtooth = series(600, (t) => 100 + (t % 20) * 2.5);
  // The same, on a floor that rises 3 MB a minute.
  const leaking = series(600, (t) => 100 + (t % 20) * 2.5 + (t / 60) * 3);

  it('summarises each tenth of the run by its median, steady for a sawtooth', () => {
    const tenths = rssTimeline(sawtooth, 0, 599_000);
    expect(tenths).toHaveLength(10);
    for (const mb of tenths) expect(mb).toBeGreaterThanOrEqual(123);
    for (const mb of tenths) expect(mb).toBeLessThanOrEqual(126);
  });

  it('shows a leak as a rising timeline', () => {
    const tenths = rssTimeline(leaking, 0, 599_000) as number[];
    expect(tenths[9]! - tenths[0]!).toBeGreaterThanOrEqual(25);
  });

  it('leaves a slice without samples empty', () => {
    expect(
      rssTimeline(
        series(30, () => 100),
        0,
        60_000,
        4,
      ),
    ).toEqual([100, 100, null, null]);
  });

  it('fits the trend of the floor over the second half: flat for a sawtooth, the leak rate for a leak', () => {
    expect(lateRssTrendMbPerMin(sawtooth, 0, 599_000)).toBe(0);
    expect(lateRssTrendMbPerMin(leaking, 0, 599_000)).toBeCloseTo(3, 0);
    // A warm-up climb in the first half does not count.
    const warm = series(600, (t) => (t < 200 ? 50 + t / 2 : 150));
    expect(lateRssTrendMbPerMin(warm, 0, 599_000)).toBe(0);
  });

  it('declines to fit a line through too few samples', () => {
    expect(
      lateRssTrendMbPerMin(
        series(5, () => 100),
        0,
        5000,
      ),
    ).toBeNull();
  });
});
