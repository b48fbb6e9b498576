// The orchestrator's index of queued work. This is domain logic we own: which tasks wait for dispatch, in
// what order (the DispatchQueue's), grouped by the instances that could run them, and which have a
// deadline to watch. Pure code: time is passed in as `now` (milliseconds); nothing here reads a clock or
// does I/O, and the caller decides what an entry holds (the engine keeps no inputs here).
import { pastDeadline } from './attempt-outcome';
import type { AgingPolicy, TaskPriority } from './priority-queue';
import { DispatchQueue } from './priority-queue';

/** What the backlog needs to know of a queued task to order it, pool it and watch its deadline. */
export interface BacklogEntry {
  _id: string;
  capability: string;
  versionRange: string | null;
  agentHandle: string | null;
  strategy: string;
  priority: TaskPriority;
  deadline: Date | null;
  /** When the task was stored: aging counts from here. */
  createdAt: Date;
  /** Not dispatched before this (a retry's backoff). */
  nextAttemptAt: Date;
}

/**
 * The pool of a task: tasks with the same capability, range, agent and strategy can run on the same
 * instances, through the same load balancer.
 */
export const poolKey = (
  task: Pick<BacklogEntry, 'strategy' | 'capability' | 'versionRange' | 'agentHandle'>,
) => `${task.strategy}|${task.capability}|${task.versionRange ?? '*'}|${task.agentHandle ?? '*'}`;

/**
 * Queued tasks by id, in dispatch order, and by pool, with one of each pool's tasks to test it with. A
 * dispatch pass first asks which pools have a free instance and stops as soon as none has: under a
 * backlog of thousands of tasks for a full fleet, each result then costs a few map look-ups rather
 * than sorting the whole queue.
 */
export class Backlog<T extends BacklogEntry> {
  private readonly queue: DispatchQueue;
  private readonly entries = new Map<string, T>();
  private readonly pools = new Map<string, { count: number; sample: T }>();
  private readonly poolOf = new Map<string, string>();
  /** Queued tasks with a deadline, failed by the dispatcher once it passes (whether or not a pool is free). */
  private readonly deadlines = new Map<string, T>();

  constructor(aging: AgingPolicy) {
    this.queue = new DispatchQueue(aging);
  }

  /** How many tasks are queued, ready or not. */
  get size(): number {
    return this.entries.size;
  }

  /** How many pools have queued tasks. */
  get poolCount(): number {
    return this.pools.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Every queued entry, in no particular order. */
  all(): T[] {
    return [...this.entries.values()];
  }

  /** Queues `task`, in place of the entry of the same id if there is one (a retry). */
  add(task: T): void {
    if (this.entries.has(task._id)) this.remove(task._id);
    this.entries.set(task._id, task);
    const key = poolKey(task);
    this.poolOf.set(task._id, key);
    const pool = this.pools.get(key);
    if (pool) pool.count++;
    else this.pools.set(key, { count: 1, sample: task });
    if (task.deadline) this.deadlines.set(task._id, task);
    this.queue.push({
      id: task._id,
      priority: task.priority,
      enqueuedAt: task.createdAt.getTime(),
      readyAt: task.nextAttemptAt.getTime(),
    });
  }

  /** Takes a task out (handed out, canceled, failed); nothing happens if it is not queued. */
  remove(id: string): void {
    this.queue.remove(id);
    this.entries.delete(id);
    this.deadlines.delete(id);
    const key = this.poolOf.get(id);
    if (key === undefined) return;
    this.poolOf.delete(id);
    // The sample may have left: it still names the pool's capability, range, agent and strategy.
    const pool = this.pools.get(key)!;
    if (--pool.count === 0) this.pools.delete(key);
  }

  /** The queued tasks whose deadline has come by `now` (left queued: the caller removes them). */
  overdue(now: number): T[] {
    return [...this.deadlines.values()].filter((task) => pastDeadline(task, now));
  }

  /** Each pool with queued tasks, by key, with one of its tasks (to ask whether any instance can take it). */
  samples(): [key: string, sample: T][] {
    return [...this.pools].map(([key, pool]) => [key, pool.sample]);
  }

  /**
   * The tasks ready by `now` (their backoff over), in dispatch order, each with its pool. Not removed:
   * the caller removes each task once it has actually been handed out.
   */
  ready(now: number): { task: T; pool: string }[] {
    return this.queue.ready(now).map((item) => ({
      task: this.entries.get(item.id)!,
      pool: this.poolOf.get(item.id)!,
    }));
  }
}
