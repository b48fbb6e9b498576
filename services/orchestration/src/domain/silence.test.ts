import { createSilenceJudge, RESULTS_CATCH_UP_MS } from './silence';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

describe('createSilenceJudge', () => {
  it('lets silence count while results flow', () => {
    const judge = createSilenceJudge(1_000);
    expect(judge.meaningful(T0, false)).toBe(true);
    expect(judge.meaningful(T0 + 60_000, false)).toBe(true);
  });

  it('never lets silence count while results wait', () => {
    const judge = createSilenceJudge(1_000);
    expect(judge.meaningful(T0, true)).toBe(false);
    // However long the outage: an hour of waiting results is an hour of deafness, not of silence.
    expect(judge.meaningful(T0 + 3_600_000, true)).toBe(false);
  });

  it('gives the results that waited catchUpMs from the last time they waited, then counts silence again', () => {
    const judge = createSilenceJudge(1_000);
    judge.meaningful(T0, true);
    judge.meaningful(T0 + 5_000, true);
    expect(judge.meaningful(T0 + 5_001, false)).toBe(false);
    expect(judge.meaningful(T0 + 5_999, false)).toBe(false);
    expect(judge.meaningful(T0 + 6_000, false)).toBe(true);
    expect(judge.meaningful(T0 + 6_500, false)).toBe(true);
  });

  it('starts the catch-up over when results wait again before it ended', () => {
    const judge = createSilenceJudge(1_000);
    judge.meaningful(T0, true);
    expect(judge.meaningful(T0 + 500, false)).toBe(false);
    judge.meaningful(T0 + 900, true);
    expect(judge.meaningful(T0 + 1_500, false)).toBe(false);
    expect(judge.meaningful(T0 + 1_900, false)).toBe(true);
  });

  it('defaults to a catch-up longer than a paused partition waits before it is fetched again (5 s)', () => {
    expect(RESULTS_CATCH_UP_MS).toBeGreaterThan(5_000);
    const judge = createSilenceJudge();
    judge.meaningful(T0, true);
    expect(judge.meaningful(T0 + 5_000, false)).toBe(false);
    expect(judge.meaningful(T0 + RESULTS_CATCH_UP_MS, false)).toBe(true);
  });
});
