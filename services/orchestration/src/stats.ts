import DataLoader from 'dataloader';
import type { TaskModel } from './models/task';

export interface AgentStats {
  completed: number;
  failed: number;
  averageResponseMs: number | null;
  p95ResponseMs: number | null;
}

/** The value at a quantile of sorted numbers (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

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
      const ok = row.outcomes
        .map((o, i) => (o === 'SUCCEEDED' ? row.durations[i] : null))
        .filter((d): d is number => typeof d === 'number')
        .sort((a, b) => a - b);
      return {
        completed: row.outcomes.filter((o) => o === 'SUCCEEDED').length,
        failed: row.outcomes.filter((o) => o === 'FAILED' || o === 'TIMED_OUT').length,
        averageResponseMs: ok.length ? Math.round(ok.reduce((s, d) => s + d, 0) / ok.length) : null,
        p95ResponseMs: quantile(ok, 0.95),
      };
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
      r.outcomes.forEach((o, i) => {
        const d = r.durations[i];
        if (o === 'SUCCEEDED' && typeof d === 'number') ok.push(d);
      });
      return {
        capability: r._id,
        completed: r.outcomes.filter((o) => o === 'SUCCEEDED').length,
        failed: r.outcomes.filter((o) => o !== 'SUCCEEDED').length,
      };
    })
    .sort((a, b) => a.capability.localeCompare(b.capability));
  ok.sort((a, b) => a - b);
  return {
    completed: byCapability.reduce((s, c) => s + c.completed, 0),
    failed: byCapability.reduce((s, c) => s + c.failed, 0),
    averageMs: ok.length ? Math.round(ok.reduce((s, d) => s + d, 0) / ok.length) : 0,
    p95Ms: quantile(ok, 0.95) ?? 0,
    byCapability,
  };
}
