// An agent's task figures over a window, from the attempts it finished. Pure: the query that finds
// the attempts is performance.ts.
import type { AttemptOutcome } from '@waooaw/shared';
import { nearestRank, ratio } from '@waooaw/shared';

/** One attempt the agent finished, as the figures need it. */
export interface FinishedAttempt {
  outcome: AttemptOutcome;
  /** How long it ran (null when the runtime never said). */
  durationMs: number | null;
  /** The attempt's number within its task (1 for the first). */
  number: number;
  /** Attempts its task made in all, so far. */
  taskAttempts: number;
}

export interface AttemptPerformance {
  attempts: number;
  succeededAttempts: number;
  failedAttempts: number;
  timedOutAttempts: number;
  successRate: number | null;
  p50RunMs: number | null;
  p95RunMs: number | null;
  retries: number;
}

/**
 * The figures of the attempts an agent finished:
 * - attempts: SUCCEEDED, FAILED and TIMED_OUT ones (a REJECTED attempt is the input's fault, not the
 *   agent's, as the breaker and Agent.stats also judge it);
 * - successRate: succeeded / attempts;
 * - p50RunMs / p95RunMs: nearest-rank percentiles of the successful attempts' run times (a failure's
 *   time says how soon it failed, not how long the work takes);
 * - retries: failed or timed-out attempts followed by another attempt of the same task, i.e. the
 *   agent's failures that cost the platform a retry.
 */
export function attemptPerformance(finished: readonly FinishedAttempt[]): AttemptPerformance {
  const counted = finished.filter((a) => a.outcome !== 'REJECTED');
  const succeeded = counted.filter((a) => a.outcome === 'SUCCEEDED');
  const runTimes = succeeded
    .map((a) => a.durationMs)
    .filter((d): d is number => d !== null)
    .sort((a, b) => a - b);
  return {
    attempts: counted.length,
    succeededAttempts: succeeded.length,
    failedAttempts: counted.filter((a) => a.outcome === 'FAILED').length,
    timedOutAttempts: counted.filter((a) => a.outcome === 'TIMED_OUT').length,
    successRate: ratio(succeeded.length, counted.length),
    p50RunMs: nearestRank(runTimes, 0.5),
    p95RunMs: nearestRank(runTimes, 0.95),
    retries: counted.filter((a) => a.outcome !== 'SUCCEEDED' && a.taskAttempts > a.number).length,
  };
}
