// What an ended attempt does to its task. This is domain logic we own: which outcomes end a task, when a
// failure earns another attempt, how long that attempt waits and where it should not run are our retry
// rules. Pure code: time is passed in as `now` (milliseconds) and randomness as `random`; nothing here
// reads a clock or does I/O.
import type { AttemptOutcome, JitterStrategy } from '@waooaw/shared';
import { backoffDelay } from '@waooaw/shared';

/** How often a task is attempted and how long a retry waits (the task's retryPolicy). */
export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: JitterStrategy;
}

/** Whether a task's deadline (null: none) has come by `now`: it is then neither dispatched nor retried. */
export const pastDeadline = (t: { deadline: Date | null }, now: number): boolean =>
  t.deadline !== null && t.deadline.getTime() <= now;

/** The task and the attempt that just ended, as the decision needs them. */
export interface EndedAttempt {
  outcome: AttemptOutcome;
  /** What the runtime (or the timeout sweep) said went wrong, if anything. */
  error?: string;
  /** Attempts made so far, the one that ended included. */
  attempts: number;
  /** The instance that ran the ended attempt. */
  instanceId: string;
  task: {
    retryPolicy: RetryPolicy;
    timeoutMs: number;
    deadline: Date | null;
    /** The previous backoff delay (0 before the first retry). */
    lastDelayMs: number;
    avoidInstanceIds: readonly string[];
  };
}

/** What becomes of the task: its next status, with what that status needs. */
export type AttemptDecision =
  | { status: 'COMPLETED' }
  | { status: 'REJECTED'; error: string }
  | {
      status: 'SUBMITTED';
      /** Wait before the next attempt; the task keeps it as its lastDelayMs. */
      delayMs: number;
      avoidInstanceIds: string[];
    }
  | { status: 'FAILED'; error: string };

/**
 * Decides how an attempt ends the task: it completes, is rejected (the input does not fit the skill,
 * so another attempt would be refused too), is retried after a backoff, or fails for good once its
 * attempts are used up or its deadline has passed.
 */
export function decideAttemptEnd(
  ended: EndedAttempt,
  now: number,
  random: () => number = Math.random,
): AttemptDecision {
  const { outcome, task } = ended;
  if (outcome === 'SUCCEEDED') return { status: 'COMPLETED' };
  if (outcome === 'REJECTED')
    return { status: 'REJECTED', error: ended.error ?? 'the agent refused the input' };
  const policy = task.retryPolicy;
  if (ended.attempts < policy.maxAttempts && !pastDeadline(task, now)) {
    const delayMs = backoffDelay(
      ended.attempts,
      {
        initialMs: policy.initialDelayMs,
        maxMs: policy.maxDelayMs,
        multiplier: policy.multiplier,
        jitter: policy.jitter,
      },
      // Decorrelated jitter grows from the last delay; before the first retry there is none.
      task.lastDelayMs || policy.initialDelayMs,
      random,
    );
    return {
      status: 'SUBMITTED',
      delayMs,
      // A retry goes elsewhere when it can: the instance that failed it may be the cause.
      avoidInstanceIds: [...new Set([...task.avoidInstanceIds, ended.instanceId])],
    };
  }
  const why = outcome === 'TIMED_OUT' ? `no answer within ${task.timeoutMs} ms` : (ended.error ?? 'failed');
  return { status: 'FAILED', error: `attempt ${ended.attempts} of ${policy.maxAttempts}: ${why}` };
}
