import type { LatencySummary } from './stats';
import { summarize } from './stats';

export const FINAL_STATUSES = ['COMPLETED', 'FAILED', 'CANCELED', 'REJECTED'] as const;
const isFinal = (status: string) => (FINAL_STATUSES as readonly string[]).includes(status);

/** What the bench reads of `orchestration.task.updated`. */
export interface TaskUpdate {
  taskId: string;
  status: string;
  attempts: number;
  instanceId: string | null;
  /** Handler time of the latest attempt, as the runtime measured it. */
  durationMs: number | null;
  error: string | null;
  /** The deliverable, on COMPLETED. */
  output?: { content: string } | null;
}

/** What the bench reads of `orchestration.attempt.finished`. */
export interface AttemptFinished {
  taskId: string;
  attempt: number;
  instanceId: string;
  outcome: string;
}

export type Via = 'kafka' | 'graphql';

interface TrackedTask {
  scenario: string;
  via: Via;
  /** Monotonic ms (performance.now) just before the bench submitted it. */
  submittedAt: number;
  accepted: boolean;
  /** The first final status the bench consumed, with the time it did. */
  final: {
    status: string;
    at: number;
    durationMs: number | null;
    attempts: number;
    instanceId: string | null;
  } | null;
  /** Distinct envelope ids of COMPLETED updates: a redelivered event keeps its id. */
  completedEvents: Set<string>;
  /** Attempt numbers that ended SUCCEEDED (orchestration's verdicts). */
  succeededAttempts: Set<number>;
  /** Step of a ramp (or any other sub-division a scenario wants to report on). */
  step: number;
  /** When the bench consumed the first SUBMITTED and the first WORKING update (monotonic ms). */
  seenSubmitted: number | null;
  seenWorking: number | null;
}

/** One scenario's measured outcome, from the events the bench consumed. */
export interface Measurement {
  submitted: number;
  accepted: number;
  /** Submissions the platform refused (the send or the mutation failed): never accepted, not lost. */
  refused: number;
  final: number;
  completed: number;
  failed: number;
  /** Accepted, but no final status by the end of the drain. */
  lost: number;
  /** Completed more than once: two distinct COMPLETED events, or more than one SUCCEEDED attempt. */
  duplicates: number;
  /** Tasks that needed more than one attempt. */
  retried: number;
  /** End to end (submit to the final update consumed) of completed tasks, ms. */
  latency: LatencySummary;
  /** End to end minus the handler time of the successful attempt, ms. */
  overhead: LatencySummary;
  handler: LatencySummary;
  /**
   * Where a completed task's time went, from the updates the bench consumed: `accept` submission to
   * SUBMITTED (the command or mutation, stored), `dispatch` SUBMITTED to WORKING (queued until an
   * instance had room), `run` WORKING to the final update (assignment, handler, result, stored).
   */
  stages: { accept: LatencySummary; dispatch: LatencySummary; run: LatencySummary };
  /** First submission to last final status, ms; the window achieved throughput is measured over. */
  spanMs: number;
  /** Completed tasks per instance tier (tiers the caller's lookup names; `other` for the rest). */
  byTier: Record<string, number>;
}

/** Waiting updates for ids the bench has not learnt yet (a mutation's answer can trail its events). */
const MAX_ORPHANS = 50_000;

/**
 * Follows every task the bench submits, from its submission to its final status, and decides what
 * counts as lost or duplicated. Measurements come only from consumed events, never from estimates.
 */
export class TaskTracker {
  private readonly tasks = new Map<string, TrackedTask>();
  private readonly orphans = new Map<
    string,
    { kind: 'update' | 'attempt'; id: string; data: TaskUpdate | AttemptFinished; at: number }[]
  >();
  private readonly listeners: (() => void)[] = [];
  /** Per scenario: tasks out of flight (a final status, or refused), kept as they happen (see settled). */
  private readonly settledBy = new Map<string, number>();

  private settle(task: TrackedTask): void {
    this.settledBy.set(task.scenario, (this.settledBy.get(task.scenario) ?? 0) + 1);
  }

  /** Records a submission about to be sent (the clock starts now). */
  submitted(id: string, scenario: string, via: Via, at: number, step = 0): void {
    this.tasks.set(id, {
      scenario,
      via,
      submittedAt: at,
      accepted: false,
      final: null,
      completedEvents: new Set(),
      succeededAttempts: new Set(),
      step,
      seenSubmitted: null,
      seenWorking: null,
    });
  }

  /**
   * The platform took it (the produce was acknowledged, or the mutation answered). A mutation's
   * task id is known only now: `provisional` names the entry submitted() made for it.
   */
  accepted(id: string, provisional?: string): void {
    const task = this.tasks.get(provisional ?? id);
    if (!task) return;
    if (provisional && provisional !== id) {
      this.tasks.delete(provisional);
      this.tasks.set(id, task);
    }
    task.accepted = true;
    const waiting = this.orphans.get(id);
    if (waiting) {
      this.orphans.delete(id);
      for (const o of waiting) {
        if (o.kind === 'update') this.onTaskUpdated(o.id, o.data as TaskUpdate, o.at);
        else this.onAttemptFinished(o.id, o.data as AttemptFinished);
      }
    }
  }

  /** The submission failed: it is counted as refused, not as lost. */
  refused(id: string): void {
    const task = this.tasks.get(id);
    if (!task) return;
    if (task.final === null) this.settle(task);
    task.accepted = false;
  }

  private park(
    taskId: string,
    entry: { kind: 'update' | 'attempt'; id: string; data: TaskUpdate | AttemptFinished; at: number },
  ) {
    const list = this.orphans.get(taskId) ?? [];
    list.push(entry);
    this.orphans.set(taskId, list);
    if (this.orphans.size > MAX_ORPHANS) this.orphans.delete(this.orphans.keys().next().value!);
  }

  onTaskUpdated(eventId: string, update: TaskUpdate, at: number): void {
    const task = this.tasks.get(update.taskId);
    if (!task || !task.accepted) {
      this.park(update.taskId, { kind: 'update', id: eventId, data: update, at });
      return;
    }
    if (update.status === 'COMPLETED') task.completedEvents.add(eventId);
    if (update.status === 'SUBMITTED') task.seenSubmitted ??= at;
    if (update.status === 'WORKING') task.seenWorking ??= at;
    if (task.final === null && isFinal(update.status)) {
      task.final = {
        status: update.status,
        at,
        durationMs: update.durationMs,
        attempts: update.attempts,
        instanceId: update.instanceId,
      };
      this.settle(task);
      for (const listener of this.listeners) listener();
    }
  }

  onAttemptFinished(eventId: string, attempt: AttemptFinished): void {
    const task = this.tasks.get(attempt.taskId);
    if (!task || !task.accepted) {
      this.park(attempt.taskId, { kind: 'attempt', id: eventId, data: attempt, at: 0 });
      return;
    }
    if (attempt.outcome === 'SUCCEEDED') task.succeededAttempts.add(attempt.attempt);
  }

  /** Called whenever a task reaches its final status. */
  onFinal(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Tasks of a scenario no longer in flight: with a final status, or refused. Counted as they happen,
   * not by a walk over every task, because a windowed load asks for it before each send.
   */
  settled(scenario: string): number {
    return this.settledBy.get(scenario) ?? 0;
  }

  /** Accepted tasks of a scenario still without a final status. */
  pending(scenario: string): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.scenario === scenario && t.accepted && t.final === null) n++;
    return n;
  }

  /** Final statuses of a scenario so far. */
  finished(scenario: string): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.scenario === scenario && t.final !== null) n++;
    return n;
  }

  /** Final statuses of every scenario (warm-up included) so far. */
  finishedInAll(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.final !== null) n++;
    return n;
  }

  /** The measurement of one scenario (optionally one step of it); call after its drain. */
  measure(scenario: string, tierOf: (instanceId: string) => string | undefined, step?: number): Measurement {
    const latency: number[] = [];
    const overhead: number[] = [];
    const handler: number[] = [];
    const stages = { accept: [] as number[], dispatch: [] as number[], run: [] as number[] };
    const byTier: Record<string, number> = {};
    let submitted = 0;
    let accepted = 0;
    let final = 0;
    let completed = 0;
    let duplicates = 0;
    let retried = 0;
    let first = Infinity;
    let last = -Infinity;
    for (const t of this.tasks.values()) {
      if (t.scenario !== scenario || (step !== undefined && t.step !== step)) continue;
      submitted++;
      first = Math.min(first, t.submittedAt);
      if (!t.accepted) continue;
      accepted++;
      if (t.completedEvents.size > 1 || t.succeededAttempts.size > 1) duplicates++;
      if (!t.final) continue;
      final++;
      last = Math.max(last, t.final.at);
      if (t.final.attempts > 1) retried++;
      if (t.final.status !== 'COMPLETED') continue;
      completed++;
      const e2e = t.final.at - t.submittedAt;
      const work = t.final.durationMs ?? 0;
      latency.push(e2e);
      handler.push(work);
      overhead.push(Math.max(0, e2e - work));
      // Updates of one task share a partition (keyed by task id), so they arrive in order.
      if (t.seenSubmitted !== null && t.seenWorking !== null) {
        stages.accept.push(t.seenSubmitted - t.submittedAt);
        stages.dispatch.push(t.seenWorking - t.seenSubmitted);
        stages.run.push(t.final.at - t.seenWorking);
      }
      const tier = (t.final.instanceId && tierOf(t.final.instanceId)) || 'other';
      byTier[tier] = (byTier[tier] ?? 0) + 1;
    }
    return {
      submitted,
      accepted,
      refused: submitted - accepted,
      final,
      completed,
      failed: final - completed,
      lost: accepted - final,
      duplicates,
      retried,
      latency: summarize(latency),
      overhead: summarize(overhead),
      handler: summarize(handler),
      stages: {
        accept: summarize(stages.accept),
        dispatch: summarize(stages.dispatch),
        run: summarize(stages.run),
      },
      spanMs: Number.isFinite(first) && Number.isFinite(last) ? Math.max(0, last - first) : 0,
      byTier,
    };
  }
}
