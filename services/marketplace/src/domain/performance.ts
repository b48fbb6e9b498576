// An agent's marketplace figures over a window (rating, retention) and a customer's trials in figures.
// Pure: figures.ts reads the records.
import type { TaskStatus, TrialStatus } from '@waooaw/shared';
import { mean, nearestRank, ratio } from '@waooaw/shared';

/** What retention needs of a subscription. */
export interface SubscriptionSpan {
  startedAt: Date;
  cancelledAt: Date | null;
}

export interface Retention {
  subscriptions: number;
  retainedSubscriptions: number;
  retentionRate: number | null;
}

/**
 * Retention over [since, until): of the subscriptions active at some time in the window (started
 * before its end, not cancelled before its start), those still active at its end.
 */
export function retention(spans: readonly SubscriptionSpan[], since: Date, until: Date): Retention {
  const inWindow = spans.filter(
    (s) =>
      s.startedAt.getTime() < until.getTime() &&
      (s.cancelledAt === null || s.cancelledAt.getTime() >= since.getTime()),
  );
  const retained = inWindow.filter(
    (s) => s.cancelledAt === null || s.cancelledAt.getTime() >= until.getTime(),
  );
  return {
    subscriptions: inWindow.length,
    retainedSubscriptions: retained.length,
    retentionRate: ratio(retained.length, inWindow.length),
  };
}

/** What the customer view needs of a trial's task. */
export interface TrialTaskFacts {
  status: TaskStatus;
  requestedAt: Date;
  completedAt: Date | null;
}

export interface ResponseTimes {
  averageResponseMs: number | null;
  p50ResponseMs: number | null;
  p95ResponseMs: number | null;
}

export interface TaskFigures extends ResponseTimes {
  tasks: number;
  tasksCompleted: number;
  tasksUnsuccessful: number;
  tasksOpen: number;
}

const UNSUCCESSFUL: readonly TaskStatus[] = ['FAILED', 'REJECTED', 'CANCELED'];

/** How long each completed task took, from its request to its completion (ms). */
export const responseTimesOf = (tasks: readonly TrialTaskFacts[]): number[] =>
  tasks
    .filter((t) => t.status === 'COMPLETED' && t.completedAt !== null)
    .map((t) => t.completedAt!.getTime() - t.requestedAt.getTime());

/** Mean and nearest-rank p50 / p95 of response times (ms). */
export function responseTimes(times: readonly number[]): ResponseTimes {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    averageResponseMs: mean(sorted),
    p50ResponseMs: nearestRank(sorted, 0.5),
    p95ResponseMs: nearestRank(sorted, 0.95),
  };
}

/**
 * A trial's tasks in figures: completed ones, unsuccessful ones (failed, rejected or cancelled),
 * open ones (the rest), and the response times of the completed ones.
 */
export function taskFigures(tasks: readonly TrialTaskFacts[]): TaskFigures {
  const completed = tasks.filter((t) => t.status === 'COMPLETED').length;
  const unsuccessful = tasks.filter((t) => UNSUCCESSFUL.includes(t.status)).length;
  return {
    tasks: tasks.length,
    tasksCompleted: completed,
    tasksUnsuccessful: unsuccessful,
    tasksOpen: tasks.length - completed - unsuccessful,
    ...responseTimes(responseTimesOf(tasks)),
  };
}

/** One of a customer's trials, as the customer view lists it. */
export interface TrialFiguresRecord extends TaskFigures {
  trialId: string;
  agentId: string;
  status: TrialStatus;
  createdAt: Date;
  deliverables: number;
}
