import { ErrorCode } from '../errors';
import { FIGURES_WINDOW, figuresWindow, mean, nearestRank, ratio } from '../figures';

describe('figures arithmetic', () => {
  it('takes percentiles by nearest rank, always one of the values', () => {
    // 20 values 1..20: p50 is rank ceil(0.5 * 20) = 10 -> 10; p95 is rank ceil(0.95 * 20) = 19 -> 19.
    const oneToTwenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(nearestRank(oneToTwenty, 0.5)).toBe(10);
    expect(nearestRank(oneToTwenty, 0.95)).toBe(19);
    // [100, 200, 900]: p50 is rank ceil(1.5) = 2 -> 200; p95 is rank ceil(2.85) = 3 -> 900.
    expect(nearestRank([100, 200, 900], 0.5)).toBe(200);
    expect(nearestRank([100, 200, 900], 0.95)).toBe(900);
    expect(nearestRank([42], 0.5)).toBe(42);
    expect(nearestRank([], 0.5)).toBeNull();
  });

  it('rounds rates and means, and has none without a denominator', () => {
    expect(ratio(2, 3)).toBe(0.6667);
    expect(ratio(0, 5)).toBe(0);
    expect(ratio(1, 0)).toBeNull();
    // (100 + 200 + 900) / 3 = 400
    expect(mean([100, 200, 900])).toBe(400);
    expect(mean([1, 2])).toBe(1.5);
    expect(mean([])).toBeNull();
  });

  it('defaults the window to the 30 days before now and bounds it', () => {
    const now = new Date('2025-03-31T00:00:00.000Z');
    expect(figuresWindow({}, now, FIGURES_WINDOW)).toEqual({
      since: new Date('2025-03-01T00:00:00.000Z'),
      until: now,
    });
    expect(figuresWindow({ since: '2025-01-01T00:00:00Z', until: null }, now, FIGURES_WINDOW).since).toEqual(
      new Date('2025-01-01T00:00:00.000Z'),
    );
    const refused = (args: { since?: string; until?: string }) => {
      try {
        figuresWindow(args, now, FIGURES_WINDOW);
      } catch (err) {
        return (err as { code?: string; extensions?: { code?: string } }).extensions?.code;
      }
      return 'accepted';
    };
    expect(refused({ since: '2025-04-01T00:00:00Z' })).toBe(ErrorCode.BAD_USER_INPUT);
    expect(refused({ since: '2023-01-01T00:00:00Z' })).toBe(ErrorCode.BAD_USER_INPUT);
    expect(refused({ until: 'yesterday' })).toBe(ErrorCode.BAD_USER_INPUT);
  });
});
