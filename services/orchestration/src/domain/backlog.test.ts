import type { BacklogEntry } from './backlog';
import { Backlog, poolKey } from './backlog';
import { DEFAULT_AGING } from './priority-queue';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const entry = (id: string, overrides: Partial<BacklogEntry> = {}): BacklogEntry => ({
  _id: id,
  capability: 'content.write',
  versionRange: null,
  agentHandle: null,
  strategy: 'ROUND_ROBIN',
  priority: 'NORMAL',
  deadline: null,
  createdAt: new Date(T0),
  nextAttemptAt: new Date(T0),
  ...overrides,
});

const ids = (entries: { _id: string }[]) => entries.map((e) => e._id);

describe('poolKey', () => {
  it('names strategy, capability, range and agent, `*` for any', () => {
    expect(poolKey(entry('a'))).toBe('ROUND_ROBIN|content.write|*|*');
    expect(poolKey(entry('a', { versionRange: '^1', agentHandle: 'wow-care' }))).toBe(
      'ROUND_ROBIN|content.write|^1|wow-care',
    );
  });
});

describe('Backlog', () => {
  it('holds each task once, a second add replacing the first', () => {
    const backlog = new Backlog(DEFAULT_AGING);
    backlog.add(entry('a'));
    backlog.add(entry('a', { priority: 'HIGH' }));
    backlog.add(entry('b'));
    expect(backlog.size).toBe(2);
    expect(backlog.poolCount).toBe(1);
    expect(backlog.has('a')).toBe(true);
    expect(backlog.all().find((e) => e._id === 'a')?.priority).toBe('HIGH');
    expect(backlog.ready(T0)).toHaveLength(2);
  });

  it('gives the ready tasks in dispatch order, each with its pool, and holds back a retry until its backoff ends', () => {
    const backlog = new Backlog(DEFAULT_AGING);
    backlog.add(entry('low', { priority: 'LOW' }));
    backlog.add(entry('urgent', { priority: 'CRITICAL', createdAt: new Date(T0 + 10) }));
    backlog.add(entry('retry', { priority: 'CRITICAL', nextAttemptAt: new Date(T0 + 5000) }));
    backlog.add(entry('pinned', { agentHandle: 'wow-care' }));
    const ready = backlog.ready(T0 + 10);
    expect(ready.map((r) => r.task._id)).toEqual(['urgent', 'pinned', 'low']);
    expect(ready.map((r) => r.pool)).toEqual([
      'ROUND_ROBIN|content.write|*|*',
      'ROUND_ROBIN|content.write|*|wow-care',
      'ROUND_ROBIN|content.write|*|*',
    ]);
    expect(backlog.ready(T0 + 5000).map((r) => r.task._id)).toEqual(['retry', 'urgent', 'pinned', 'low']);
    expect(backlog.size).toBe(4);
  });

  it('keeps one sample per pool, which still names the pool after it left', () => {
    const backlog = new Backlog(DEFAULT_AGING);
    backlog.add(entry('a'));
    backlog.add(entry('b'));
    backlog.add(entry('c', { capability: 'seo.audit' }));
    expect(backlog.samples().map(([key, sample]) => [key, sample._id])).toEqual([
      ['ROUND_ROBIN|content.write|*|*', 'a'],
      ['ROUND_ROBIN|seo.audit|*|*', 'c'],
    ]);
    backlog.remove('a');
    expect(backlog.samples().map(([key, sample]) => [key, sample._id])).toEqual([
      ['ROUND_ROBIN|content.write|*|*', 'a'],
      ['ROUND_ROBIN|seo.audit|*|*', 'c'],
    ]);
    backlog.remove('b');
    expect(backlog.samples().map(([key]) => key)).toEqual(['ROUND_ROBIN|seo.audit|*|*']);
    expect(backlog.poolCount).toBe(1);
  });

  it('forgets a removed task everywhere, and ignores removing one it does not hold', () => {
    const backlog = new Backlog(DEFAULT_AGING);
    backlog.add(entry('a', { deadline: new Date(T0) }));
    backlog.remove('a');
    backlog.remove('never-queued');
    expect(backlog.size).toBe(0);
    expect(backlog.has('a')).toBe(false);
    expect(backlog.all()).toEqual([]);
    expect(backlog.ready(T0)).toEqual([]);
    expect(backlog.overdue(T0)).toEqual([]);
    expect(backlog.poolCount).toBe(0);
  });

  it('reports the tasks whose deadline has come, leaving them queued, and only while they have one', () => {
    const backlog = new Backlog(DEFAULT_AGING);
    backlog.add(entry('due', { deadline: new Date(T0 + 1000) }));
    backlog.add(entry('later', { deadline: new Date(T0 + 9000) }));
    backlog.add(entry('none'));
    expect(backlog.overdue(T0 + 999)).toEqual([]);
    expect(ids(backlog.overdue(T0 + 1000))).toEqual(['due']);
    expect(backlog.has('due')).toBe(true);
    backlog.add(entry('later'));
    expect(ids(backlog.overdue(T0 + 10_000))).toEqual(['due']);
  });
});
