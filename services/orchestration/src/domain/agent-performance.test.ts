import type { FinishedAttempt } from './agent-performance';
import { attemptPerformance } from './agent-performance';

const attempt = (
  outcome: FinishedAttempt['outcome'],
  durationMs: number | null,
  number = 1,
  taskAttempts = number,
): FinishedAttempt => ({ outcome, durationMs, number, taskAttempts });

describe('an agent performance over its finished attempts', () => {
  it('counts outcomes, rates, percentiles and retries as worked out by hand', () => {
    const figures = attemptPerformance([
      // Task A: failed on attempt 1, retried (its attempt 2 ran on another agent): 1 retry.
      attempt('FAILED', 900, 1, 2),
      // Task B: timed out on attempt 1, then succeeded here on attempt 2 in 400 ms: 1 retry.
      attempt('TIMED_OUT', 30_000, 1, 2),
      attempt('SUCCEEDED', 400, 2, 2),
      // Tasks C-F succeeded first time.
      attempt('SUCCEEDED', 100),
      attempt('SUCCEEDED', 200),
      attempt('SUCCEEDED', 300),
      attempt('SUCCEEDED', 1000),
      // Task G failed on its last attempt: no retry followed it.
      attempt('FAILED', 50, 3, 3),
      // Task H was rejected (bad input): not counted at all.
      attempt('REJECTED', 5),
    ]);
    // attempts: 9 - 1 rejected = 8; succeeded 5 (B2, C, D, E, F); failed 2 (A1, G3); timed out 1 (B1).
    // successRate = 5 / 8 = 0.625.
    // Successful run times sorted: [100, 200, 300, 400, 1000] (n = 5)
    //   p50 = rank ceil(0.5 * 5) = 3 -> 300; p95 = rank ceil(0.95 * 5) = 5 -> 1000.
    // retries: A1 (2 attempts > 1) and B1 (2 > 1); G3 was the last (3 = 3): 2.
    expect(figures).toEqual({
      attempts: 8,
      succeededAttempts: 5,
      failedAttempts: 2,
      timedOutAttempts: 1,
      successRate: 0.625,
      p50RunMs: 300,
      p95RunMs: 1000,
      retries: 2,
    });
  });

  it('has no rate or run time without attempts', () => {
    expect(attemptPerformance([attempt('REJECTED', 10)])).toEqual({
      attempts: 0,
      succeededAttempts: 0,
      failedAttempts: 0,
      timedOutAttempts: 0,
      successRate: null,
      p50RunMs: null,
      p95RunMs: null,
      retries: 0,
    });
  });
});
