import DataLoader from 'dataloader';
import { nearestRank as quantile } from '@waooaw/shared';
import type { TaskModel } from './models/task';

export interface AgentStats {
  completed: number;
  failed: number;
  averageResponseMs: number | null;
  p95ResponseMs: number | null;
}

/** Completed and failed attempts of a group, and the sorted durations of the successful ones. */
function outcomeFigures(outcomes: readonly string[], durations: readonly (number | null)[]) {
  const ok = outcomes
    .map((o, i) => (o === 'SUCCEEDED' ? durations[i] : null))
    .filter((d): d is number => typeof d === 'number')
    .sort((a, b) => a - b);
  return {
    completed: outcomes.filter((o) => o === 'SUCCEEDED').length,
    failed: outcomes.filter((o) => o === 'FAILED' || o === 'TIMED_OUT').length,
    ok,
  };
}

const average = (sorted: readonly number[]) =>
  sorted.length ? Math.round(sorted.reduce((s, d) => s + d, 0) / sorted.length) : null;

/** Agent.stats for all agents of a request in one aggregation over the attempts they finished. */
export function agentStatsLoader(tasks: TaskModel) {
  return new DataLoader<string, AgentStats>(async (agentIds) => {
    const rows = await tasks.aggregate<{ _id: string; outcomes: string[]; durations: (number | null)[] }>([
      { $match: { 'attempts.agentId': { $in: [...agentIds] } } },
      { $unwind: '$attempts' },
      { $match: { 'attempts.agentId': { $in: [...agentIds] }, 'attempts.outcome': { $ne: null } } },
      {
        $group: {
          _id: '$attempts.agentId',
          outcomes: { $push: '$attempts.outcome' },
          durations: { $push: '$attempts.durationMs' },
        },
      },
    ]);
    const byAgent = new Map(rows.map((r) => [r._id, r]));
    return agentIds.map((id) => {
      const row = byAgent.get(id);
      if (!row) return { completed: 0, failed: 0, averageResponseMs: null, p95ResponseMs: null };
      const { completed, failed, ok } = outcomeFigures(row.outcomes, row.durations);
      return { completed, failed, averageResponseMs: average(ok), p95ResponseMs: quantile(ok, 0.95) };
    });
  });
}

export interface TaskStatsSummary {
  completed: number;
  failed: number;
  averageMs: number;
  p95Ms: number;
  byCapability: { capability: string; completed: number; failed: number }[];
}

/** Attempt outcomes over the tasks matching a filter, by capability, with average and p95 times. */
export async function taskStats(
  tasks: TaskModel,
  filter: { agentIds?: string[]; capability?: string },
): Promise<TaskStatsSummary> {
  const match: Record<string, unknown> = {
    'attempts.outcome': { $in: ['SUCCEEDED', 'FAILED', 'TIMED_OUT'] },
  };
  if (filter.agentIds) match['attempts.agentId'] = { $in: filter.agentIds };
  if (filter.capability) match.capability = filter.capability;
  const rows = await tasks.aggregate<{ _id: string; outcomes: string[]; durations: (number | null)[] }>([
    { $match: filter.capability ? { capability: filter.capability } : {} },
    { $unwind: '$attempts' },
    { $match: match },
    {
      $group: {
        _id: '$capability',
        outcomes: { $push: '$attempts.outcome' },
        durations: { $push: '$attempts.durationMs' },
      },
    },
  ]);
  const ok: number[] = [];
  const byCapability = rows
    .map((r) => {
      const figures = outcomeFigures(r.outcomes, r.durations);
      ok.push(...figures.ok);
      return { capability: r._id, completed: figures.completed, failed: figures.failed };
    })
    .sort((a, b) => a.capability.localeCompare(b.capability));
  ok.sort((a, b) => a - b);
  return {
    completed: byCapability.reduce((s, c) => s + c.completed, 0),
    failed: byCapability.reduce((s, c) => s + c.failed, 0),
    averageMs: average(ok) ?? 0,
    p95Ms: quantile(ok, 0.95) ?? 0,
    byCapability,
  };
}
