import { TaskTracker } from './tracker';

const update = (
  taskId: string,
  status: string,
  extra: Partial<{ attempts: number; instanceId: string; durationMs: number }> = {},
) => ({
  taskId,
  status,
  attempts: extra.attempts ?? 1,
  instanceId: extra.instanceId ?? 'bench-main:wow-a:0',
  durationMs: extra.durationMs ?? 20,
  error: null,
});

const tiers = (id: string) =>
  id.startsWith('bench-main:wow-a') ? 'PREMIUM' : id.startsWith('bench-main:wow-b') ? 'BUDGET' : undefined;

describe('task tracking', () => {
  it('measures end to end from the submission to the final update, and overhead without the handler time', () => {
    const t = new TaskTracker();
    t.submitted('a', 'steady', 'kafka', 1000);
    t.accepted('a');
    t.onTaskUpdated('e1', update('a', 'SUBMITTED', { attempts: 0 }), 1005);
    t.onTaskUpdated('e2', update('a', 'WORKING'), 1010);
    t.onTaskUpdated('e3', update('a', 'COMPLETED', { durationMs: 25 }), 1040);
    const m = t.measure('steady', tiers);
    expect(m).toMatchObject({ submitted: 1, accepted: 1, completed: 1, lost: 0, duplicates: 0, spanMs: 40 });
    expect(m.latency.p50).toBe(40);
    expect(m.overhead.p50).toBe(15);
    expect(m.byTier).toEqual({ PREMIUM: 1 });
  });

  it('does not count a redelivered event (same id) as a second completion', () => {
    const t = new TaskTracker();
    t.submitted('a', 's', 'kafka', 0);
    t.accepted('a');
    t.onTaskUpdated('done', update('a', 'COMPLETED'), 10);
    t.onTaskUpdated('done', update('a', 'COMPLETED'), 12);
    t.onAttemptFinished('att', { taskId: 'a', attempt: 1, instanceId: 'x', outcome: 'SUCCEEDED' });
    t.onAttemptFinished('att', { taskId: 'a', attempt: 1, instanceId: 'x', outcome: 'SUCCEEDED' });
    expect(t.measure('s', tiers).duplicates).toBe(0);
  });

  it('counts a task completed twice: two COMPLETED events, or two successful attempts', () => {
    const t = new TaskTracker();
    for (const id of ['a', 'b']) {
      t.submitted(id, 's', 'kafka', 0);
      t.accepted(id);
    }
    t.onTaskUpdated('a1', update('a', 'COMPLETED', { attempts: 1 }), 10);
    t.onTaskUpdated('a2', update('a', 'COMPLETED', { attempts: 2 }), 20);
    t.onAttemptFinished('b1', { taskId: 'b', attempt: 1, instanceId: 'x', outcome: 'SUCCEEDED' });
    t.onAttemptFinished('b2', { taskId: 'b', attempt: 2, instanceId: 'y', outcome: 'SUCCEEDED' });
    t.onTaskUpdated('b3', update('b', 'COMPLETED', { attempts: 2 }), 30);
    expect(t.measure('s', tiers).duplicates).toBe(2);
  });

  it('counts accepted tasks without a final status as lost, refused submissions as neither', () => {
    const t = new TaskTracker();
    t.submitted('a', 's', 'kafka', 0);
    t.accepted('a');
    t.onTaskUpdated('w', update('a', 'WORKING'), 5);
    t.submitted('b', 's', 'kafka', 0);
    t.refused('b');
    const m = t.measure('s', tiers);
    expect(m).toMatchObject({ submitted: 2, accepted: 1, refused: 1, lost: 1, completed: 0 });
    expect(t.pending('s')).toBe(1);
  });

  it('keeps updates that arrive before a mutation has answered with the task id', () => {
    const t = new TaskTracker();
    t.submitted('provisional-1', 's', 'graphql', 100);
    t.onTaskUpdated('e', update('task-9', 'COMPLETED', { instanceId: 'bench-main:wow-b:1' }), 150);
    t.accepted('task-9', 'provisional-1');
    const m = t.measure('s', tiers);
    expect(m).toMatchObject({ completed: 1, lost: 0 });
    expect(m.latency.p50).toBe(50);
    expect(m.byTier).toEqual({ BUDGET: 1 });
  });

  it('reports failures, retries and other instances apart, per scenario and step', () => {
    const t = new TaskTracker();
    t.submitted('a', 'ramp', 'kafka', 0, 0);
    t.submitted('b', 'ramp', 'kafka', 0, 1);
    t.submitted('c', 'other', 'kafka', 0);
    for (const id of ['a', 'b', 'c']) t.accepted(id);
    t.onTaskUpdated('1', update('a', 'COMPLETED', { attempts: 2, instanceId: 'rt-x:wow-z:0' }), 10);
    t.onTaskUpdated('2', update('b', 'FAILED', { attempts: 4 }), 10);
    expect(t.measure('ramp', tiers, 0)).toMatchObject({ completed: 1, retried: 1, byTier: { other: 1 } });
    expect(t.measure('ramp', tiers, 1)).toMatchObject({ completed: 0, failed: 1 });
    expect(t.measure('ramp', tiers)).toMatchObject({ submitted: 2, final: 2 });
    expect(t.finished('other')).toBe(0);
  });
});
