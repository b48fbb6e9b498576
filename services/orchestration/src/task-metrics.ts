import type { PlatformMetrics } from '@waooaw/shared';
import { boundedLabel, Counter, Histogram } from '@waooaw/shared';
import type { FinalListener } from './engine';

/** Capabilities with a series of their own; the rest share `(other)` (see boundedLabel). */
export const MAX_CAPABILITY_LABELS = 200;

/**
 * Task throughput and latency by capability and final status, for /metrics: a listener of the
 * engine's finished tasks (engine.onFinal). The engine tells each final status once, from the
 * process whose write made it final, so the processes' counters add up to the platform's.
 */
export function taskMetrics(registry: PlatformMetrics['registry']): FinalListener {
  const finished = new Counter({
    name: 'waooaw_tasks_finished_total',
    help: 'Tasks that reached a final status, by capability and outcome (COMPLETED, FAILED, CANCELED, REJECTED)',
    labelNames: ['capability', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'waooaw_task_duration_seconds',
    help: 'From submission to final status, by capability and outcome (retries and queueing included)',
    labelNames: ['capability', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
  });
  // Capabilities are names agents declare, not a fixed list: bounded like any free-form label.
  const capabilityLabel = boundedLabel(MAX_CAPABILITY_LABELS);
  return (task) => {
    const labels = { capability: capabilityLabel(task.capability), outcome: task.status };
    finished.inc(labels);
    const end = task.completedAt ?? task.updatedAt;
    duration.observe(labels, Math.max(0, end.getTime() - task.createdAt.getTime()) / 1000);
    return Promise.resolve();
  };
}
