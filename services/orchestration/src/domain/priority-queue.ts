// Dispatch ordering for the orchestrator. This is domain logic we own: the priority levels, the aging rule
// that keeps low-priority work from starving and the backoff gate are our scheduling rules, which no queue
// library models. Pure code: time is passed in as `now` (milliseconds), nothing here reads a clock or does I/O.

/** The priority levels a task can be submitted with, most urgent first; the index is the base rank. */
export const TASK_PRIORITIES = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'BACKGROUND'] as const;

/** A submission priority; kept as a string union so it can travel through GraphQL, Kafka and MongoDB as is. */
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** What the queue needs to know about a task to order it; the task's payload lives elsewhere. */
export interface QueuedTask {
  id: string;
  priority: TaskPriority;
  /** When it was queued (ms); aging counts from here, and it breaks ties between equal ranks (FIFO). */
  enqueuedAt: number;
  /** Not before (ms): a retried task waits out its backoff without leaving the queue. */
  readyAt: number;
}

/** How fast waiting tasks gain priority, so that a steady stream of urgent work cannot starve the rest. */
export interface AgingPolicy {
  /** Waiting this long raises a task by one priority level. `Infinity` disables aging. */
  stepMs: number;
}

/**
 * The platform default: every 30 seconds of waiting is worth one priority level, so even a BACKGROUND task
 * reaches the top rank after two minutes.
 */
export const DEFAULT_AGING: AgingPolicy = Object.freeze({ stepMs: 30_000 });

/** The base rank of a priority (0 = CRITICAL ... 4 = BACKGROUND), so ranks compare as plain numbers. */
export function priorityRank(priority: TaskPriority): number {
  return TASK_PRIORITIES.indexOf(priority);
}

/**
 * Effective rank (0 = CRITICAL ... 4 = BACKGROUND), lowered by one per `stepMs` waited since `enqueuedAt`,
 * never below 0. This is the aging rule: any task eventually reaches rank 0, where it competes on age alone,
 * so it cannot wait forever behind newer work.
 */
export function effectiveRank(t: QueuedTask, now: number, aging: AgingPolicy): number {
  const waited = Math.max(0, now - t.enqueuedAt);
  const steps = Math.floor(waited / aging.stepMs);
  return Math.max(0, priorityRank(t.priority) - steps);
}

function assertAgingPolicy(aging: AgingPolicy): void {
  if (!(aging.stepMs > 0)) {
    throw new RangeError(`aging stepMs must be a positive number of milliseconds (got ${aging.stepMs})`);
  }
}

/** Ascending code-unit order: deterministic everywhere, unlike localeCompare. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The orchestrator's in-memory dispatch queue: which tasks may be handed to agents now, and in what order.
 *
 * Complexity: `push`, `remove`, `has` and `size` are O(1) (a Map keyed by id); `ready` is O(n log n) and
 * `nextReadyAt` O(n). A heap would not help much because aging makes the order depend on `now`, so the order
 * is computed when asked; a sort of a few thousand entries takes well under a millisecond.
 */
export class DispatchQueue {
  private readonly tasks = new Map<string, QueuedTask>();
  private readonly aging: AgingPolicy;

  /** Throws a RangeError unless `aging.stepMs` is positive, since a zero step would make every task rank 0. */
  constructor(aging: AgingPolicy = DEFAULT_AGING) {
    assertAgingPolicy(aging);
    this.aging = { stepMs: aging.stepMs };
  }

  /** How many tasks are queued, ready or not, so callers can apply back-pressure. */
  get size(): number {
    return this.tasks.size;
  }

  /** Whether a task is queued, so a duplicate submission can be recognised. */
  has(id: string): boolean {
    return this.tasks.has(id);
  }

  /**
   * Adds or replaces (same id): a retry re-queues the task with a new `readyAt` without creating a second
   * entry. The task is copied, so later changes to the caller's object do not reorder the queue silently.
   */
  push(t: QueuedTask): void {
    this.tasks.set(t.id, { id: t.id, priority: t.priority, enqueuedAt: t.enqueuedAt, readyAt: t.readyAt });
  }

  /** Removes a task (dispatched or canceled); returns whether it was queued. */
  remove(id: string): boolean {
    return this.tasks.delete(id);
  }

  /**
   * The ready tasks (readyAt <= now) in dispatch order: effective rank, then enqueuedAt, then id. Does not
   * remove them: the caller removes each task once it has actually been handed out, so a failed hand-off
   * loses nothing. `limit` caps the answer (e.g. to the free agent capacity).
   */
  ready(now: number, limit?: number): QueuedTask[] {
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
      throw new RangeError(`limit must be a non-negative integer (got ${limit})`);
    }
    const ranked: { task: QueuedTask; rank: number }[] = [];
    for (const task of this.tasks.values()) {
      if (task.readyAt <= now) ranked.push({ task, rank: effectiveRank(task, now, this.aging) });
    }
    ranked.sort(
      (a, b) => a.rank - b.rank || a.task.enqueuedAt - b.task.enqueuedAt || compareIds(a.task.id, b.task.id),
    );
    const chosen = limit === undefined ? ranked : ranked.slice(0, limit);
    return chosen.map(({ task }) => ({ ...task }));
  }

  /** Earliest readyAt among tasks not yet ready (for timer scheduling), or null when none is waiting. */
  nextReadyAt(now: number): number | null {
    let earliest: number | null = null;
    for (const task of this.tasks.values()) {
      if (task.readyAt > now && (earliest === null || task.readyAt < earliest)) earliest = task.readyAt;
    }
    return earliest;
  }
}
