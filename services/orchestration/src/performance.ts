import type { FiguresWindow } from '@waooaw/shared';
import type { FinishedAttempt } from './domain';
import type { TaskModel } from './models/task';

/**
 * The attempts `agentId` finished in the window, one row each, for attemptPerformance. The first
 * $match is served by the { 'attempts.agentId' } index and narrowed to tasks alive in the window (a
 * task's updatedAt is at or after the end of each of its attempts); the rows carry four numbers, and
 * the percentiles need every run time, so the arithmetic is done over them in domain/.
 */
export function agentAttempts(
  tasks: TaskModel,
  agentId: string,
  window: FiguresWindow,
): Promise<FinishedAttempt[]> {
  const { since, until } = window;
  return tasks
    .aggregate<FinishedAttempt>([
      { $match: { 'attempts.agentId': agentId, createdAt: { $lt: until }, updatedAt: { $gte: since } } },
      { $project: { _id: 0, attempts: 1, taskAttempts: { $size: '$attempts' } } },
      { $unwind: '$attempts' },
      {
        $match: {
          'attempts.agentId': agentId,
          'attempts.outcome': { $ne: null },
          'attempts.endedAt': { $gte: since, $lt: until },
        },
      },
      {
        $project: {
          outcome: '$attempts.outcome',
          durationMs: '$attempts.durationMs',
          number: '$attempts.number',
          taskAttempts: 1,
        },
      },
    ])
    .exec();
}
