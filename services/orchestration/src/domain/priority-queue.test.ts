import type { QueuedTask, TaskPriority } from './priority-queue';
import { DEFAULT_AGING, DispatchQueue, TASK_PRIORITIES, effectiveRank } from './priority-queue';

const STEP = DEFAULT_AGING.stepMs;

function task(id: string, priority: TaskPriority, enqueuedAt: number, readyAt = enqueuedAt): QueuedTask {
  return { id, priority, enqueuedAt, readyAt };
}

const ids = (tasks: QueuedTask[]): string[] => tasks.map((t) => t.id);

describe('effectiveRank', () => {
  it('starts at the base rank of the priority', () => {
    TASK_PRIORITIES.forEach((priority, rank) => {
      expect(effectiveRank(task('t', priority, 1000), 1000, DEFAULT_AGING)).toBe(rank);
    });
  });

  it('drops one level per full step waited and never goes below 0', () => {
    const t = task('t', 'BACKGROUND', 0);
    expect(effectiveRank(t, STEP - 1, DEFAULT_AGING)).toBe(4);
    expect(effectiveRank(t, STEP, DEFAULT_AGING)).toBe(3);
    expect(effectiveRank(t, 3 * STEP, DEFAULT_AGING)).toBe(1);
    expect(effectiveRank(t, 4 * STEP, DEFAULT_AGING)).toBe(0);
    expect(effectiveRank(t, 100 * STEP, DEFAULT_AGING)).toBe(0);
  });

  it('does not rise when now is before enqueuedAt, and stays put when aging is disabled', () => {
    expect(effectiveRank(task('t', 'LOW', 5000), 0, DEFAULT_AGING)).toBe(3);
    expect(effectiveRank(task('t', 'LOW', 0), 1e12, { stepMs: Infinity })).toBe(3);
  });
});

describe('DispatchQueue', () => {
  it('dispatches CRITICAL before a LOW task submitted earlier', () => {
    const q = new DispatchQueue();
    q.push(task('low', 'LOW', 0));
    q.push(task('critical', 'CRITICAL', 10));
    expect(ids(q.ready(10))).toEqual(['critical', 'low']);
  });

  it('keeps FIFO order within a priority, then orders by id on equal times', () => {
    const q = new DispatchQueue();
    q.push(task('third', 'NORMAL', 30));
    q.push(task('first', 'NORMAL', 10));
    q.push(task('second-b', 'NORMAL', 20));
    q.push(task('second-a', 'NORMAL', 20));
    expect(ids(q.ready(40))).toEqual(['first', 'second-a', 'second-b', 'third']);
  });

  it('holds back a task until its backoff readyAt, and reports when it becomes ready', () => {
    const q = new DispatchQueue();
    q.push(task('retry', 'CRITICAL', 0, 5000));
    q.push(task('later', 'HIGH', 0, 9000));
    q.push(task('now', 'LOW', 0));
    expect(ids(q.ready(1000))).toEqual(['now']);
    expect(q.nextReadyAt(1000)).toBe(5000);
    expect(ids(q.ready(5000))).toEqual(['retry', 'now']);
    expect(q.nextReadyAt(5000)).toBe(9000);
    expect(q.nextReadyAt(9000)).toBeNull();
    expect(new DispatchQueue().nextReadyAt(0)).toBeNull();
  });

  it('ages a LOW task waiting 3 steps (rank 3 -> 0) ahead of a NORMAL task just queued (rank 2)', () => {
    const q = new DispatchQueue();
    q.push(task('low', 'LOW', 0));
    q.push(task('normal', 'NORMAL', 3 * STEP));
    expect(effectiveRank(task('low', 'LOW', 0), 3 * STEP, DEFAULT_AGING)).toBe(0);
    expect(ids(q.ready(3 * STEP))).toEqual(['low', 'normal']);
    // Without waiting, the NORMAL task would have won.
    const fresh = new DispatchQueue();
    fresh.push(task('low', 'LOW', 0));
    fresh.push(task('normal', 'NORMAL', 0));
    expect(ids(fresh.ready(0))).toEqual(['normal', 'low']);
  });

  it('never starves a BACKGROUND task behind a steady stream of newer HIGH tasks', () => {
    const q = new DispatchQueue();
    q.push(task('background', 'BACKGROUND', 0));
    let dispatchedAt: number | null = null;
    // Every 10 s a new HIGH task arrives and one task is dispatched.
    for (let now = 0; now <= 10 * STEP; now += 10_000) {
      q.push(task(`high-${now}`, 'HIGH', now));
      const [next] = q.ready(now, 1);
      if (next === undefined) continue;
      q.remove(next.id);
      if (next.id === 'background') {
        dispatchedAt = now;
        break;
      }
    }
    // BACKGROUND (4) reaches rank 1 after 3 steps and ties HIGH, winning on age.
    expect(dispatchedAt).toBe(3 * STEP);
  });

  it('puts a fully aged BACKGROUND task ahead of newer CRITICAL work', () => {
    const q = new DispatchQueue();
    q.push(task('background', 'BACKGROUND', 0));
    q.push(task('critical', 'CRITICAL', 4 * STEP));
    q.push(task('high', 'HIGH', 4 * STEP));
    expect(ids(q.ready(4 * STEP))).toEqual(['background', 'critical', 'high']);
  });

  it('limits the answer without removing anything', () => {
    const q = new DispatchQueue();
    for (const [i, p] of TASK_PRIORITIES.entries()) q.push(task(p.toLowerCase(), p, i));
    expect(ids(q.ready(10, 2))).toEqual(['critical', 'high']);
    expect(q.ready(10, 0)).toEqual([]);
    expect(q.size).toBe(5);
    expect(() => q.ready(10, -1)).toThrow(RangeError);
    expect(() => q.ready(10, 1.5)).toThrow(RangeError);
  });

  it('removes tasks and replaces a task pushed again with the same id', () => {
    const q = new DispatchQueue();
    q.push(task('a', 'LOW', 0));
    q.push(task('b', 'NORMAL', 0));
    expect(q.size).toBe(2);
    expect(q.has('a')).toBe(true);

    q.push(task('a', 'CRITICAL', 5, 100));
    expect(q.size).toBe(2);
    expect(ids(q.ready(50))).toEqual(['b']);
    expect(q.ready(100)).toEqual([task('a', 'CRITICAL', 5, 100), task('b', 'NORMAL', 0)]);

    expect(q.remove('a')).toBe(true);
    expect(q.remove('a')).toBe(false);
    expect(q.has('a')).toBe(false);
    expect(q.size).toBe(1);
  });

  it('is not affected by later changes to pushed or returned objects', () => {
    const q = new DispatchQueue();
    const t = task('a', 'LOW', 0);
    q.push(t);
    t.readyAt = 1_000_000;
    const [returned] = q.ready(0);
    returned!.priority = 'BACKGROUND';
    expect(q.ready(0)).toEqual([task('a', 'LOW', 0)]);
  });

  it('honours a custom aging policy and refuses a non-positive step', () => {
    const q = new DispatchQueue({ stepMs: 1000 });
    q.push(task('low', 'LOW', 0));
    q.push(task('high', 'HIGH', 2000));
    expect(ids(q.ready(2000))).toEqual(['low', 'high']);
    expect(() => new DispatchQueue({ stepMs: 0 })).toThrow(RangeError);
    expect(() => new DispatchQueue({ stepMs: Number.NaN })).toThrow(RangeError);
  });
});
