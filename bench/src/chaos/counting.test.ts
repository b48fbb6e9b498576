import type { TopicMessage } from './counting';
import {
  compareStream,
  countByWindow,
  countEffectDuplicates,
  countTasks,
  cursorPosition,
  faultWindows,
  recoveredAt,
  TaskLedger,
  windowIndex,
} from './counting';

const windows = faultWindows(1000, [
  { name: 'kill gateway', at: 5000 },
  { name: 'kill kafka', at: 3000 },
]);

describe('fault windows', () => {
  it('start with a baseline and give each injection the time until the next', () => {
    expect(windows).toEqual([
      { name: 'baseline', start: 1000, end: 3000 },
      { name: 'kill kafka', start: 3000, end: 5000 },
      { name: 'kill gateway', start: 5000, end: Number.POSITIVE_INFINITY },
    ]);
    expect(windowIndex(windows, 2999)).toBe(0);
    expect(windowIndex(windows, 3000)).toBe(1);
    expect(windowIndex(windows, 10_000_000)).toBe(2);
    expect(windowIndex(windows, 0)).toBe(0); // before the load: the baseline's
    expect(countByWindow(windows, [1500, 3100, 3200, 9000])).toEqual([1, 2, 1]);
  });
});

describe('task counting', () => {
  it('attributes a task to the window it was accepted in; lost = accepted without a final status', () => {
    const ledger = new TaskLedger();
    ledger.onUpdate('e1', 'a', 'SUBMITTED');
    ledger.onUpdate('e2', 'a', 'COMPLETED');
    ledger.onUpdate('e3', 'b', 'WORKING'); // never finished: lost
    ledger.onUpdate('e4', 'c', 'FAILED', 'attempt 3 of 3: no answer within 30000 ms');
    const counts = countTasks(
      windows,
      [
        ['a', 1500],
        ['b', 3500],
        ['c', 3600],
        ['d', 6000], // no event at all: lost
      ],
      ledger,
    );
    expect(counts.map((c) => [c.accepted, c.completed, c.failed, c.lost, c.duplicates])).toEqual([
      [1, 1, 0, 0, 0],
      [2, 0, 1, 1, 0],
      [1, 0, 0, 1, 0],
    ]);
    expect(counts[1]!.lostSample).toEqual(['b']);
  });

  it('groups the failures of a window by their error, numbers left out, so one cause is one row', () => {
    const ledger = new TaskLedger();
    ledger.onUpdate('e1', 'a', 'FAILED', 'attempt 3 of 3: no answer within 30000 ms');
    ledger.onUpdate('e2', 'b', 'FAILED', 'attempt 2 of 2: no answer within 5000 ms');
    ledger.onUpdate('e3', 'c', 'REJECTED', 'the agent refused the input');
    ledger.onUpdate('e4', 'd', 'FAILED');
    ledger.onUpdate('e5', 'e', 'COMPLETED');
    const accepted: [string, number][] = ['a', 'b', 'c', 'd', 'e'].map((id) => [id, 1500]);
    const [first] = countTasks(windows, accepted, ledger);
    expect(first!.failed).toBe(4);
    expect(first!.failedReasons).toEqual({
      'FAILED: attempt N of N: no answer within N ms': 2,
      'REJECTED: the agent refused the input': 1,
      'FAILED: no error given': 1,
    });
  });

  it('counts a redelivered event once, and two distinct verdicts or two successful attempts as applied twice', () => {
    const ledger = new TaskLedger();
    ledger.onUpdate('e1', 'once', 'COMPLETED');
    ledger.onUpdate('e1', 'once', 'COMPLETED'); // the same envelope read again
    ledger.onAttempt('once', 1, 'SUCCEEDED');
    ledger.onAttempt('once', 1, 'SUCCEEDED');
    ledger.onAttempt('once', 2, 'FAILED');
    ledger.onUpdate('e2', 'twice', 'COMPLETED');
    ledger.onUpdate('e3', 'twice', 'COMPLETED');
    ledger.onUpdate('e4', 'flip', 'COMPLETED');
    ledger.onUpdate('e5', 'flip', 'FAILED');
    ledger.onUpdate('e6', 'ran2', 'COMPLETED');
    ledger.onAttempt('ran2', 1, 'SUCCEEDED');
    ledger.onAttempt('ran2', 2, 'SUCCEEDED');
    expect(['once', 'twice', 'flip', 'ran2'].map((t) => ledger.appliedTwice(t))).toEqual([
      false,
      true,
      true,
      true,
    ]);
    expect(ledger.finalStatus('flip')).toBe('COMPLETED'); // the first verdict stands
    const [c] = countTasks(
      windows,
      ['once', 'twice', 'flip', 'ran2'].map((t) => [t, 2000] as [string, number]),
      ledger,
    );
    expect(c).toMatchObject({ accepted: 4, completed: 4, duplicates: 3, lost: 0 });
  });
});

describe('business effects done twice', () => {
  it('counts extra ids per request in the window of the request, ignoring keys the run did not request', () => {
    const effects = new Map([
      ['cust-1', new Set(['trial-a'])],
      ['cust-2', new Set(['trial-b', 'trial-c'])],
      ['cust-3', new Set(['trial-d', 'trial-e', 'trial-f'])],
      ['someone-else', new Set(['x', 'y'])],
    ]);
    const requested = new Map([
      ['cust-1', 1200],
      ['cust-2', 3300],
      ['cust-3', 5100],
    ]);
    expect(countEffectDuplicates(windows, effects, requested)).toEqual([0, 1, 2]);
  });
});

describe('subscription streams', () => {
  // Two partitions; ids are the activity ids a subscriber sees.
  const truth: TopicMessage[] = [
    { partition: 0, offset: 0, timestamp: 1100, id: 'a0' },
    { partition: 1, offset: 0, timestamp: 1200, id: 'b0' },
    { partition: 0, offset: 1, timestamp: 3100, id: 'a1' },
    { partition: 1, offset: 1, timestamp: 3200, id: 'same' },
    { partition: 0, offset: 2, timestamp: 5100, id: 'same' }, // the same activity published twice
    { partition: 1, offset: 2, timestamp: 5200, id: 'b2' },
  ];
  const at = (n: number) => n;

  it('finds nothing wrong in a complete stream, telling apart two messages with the same id', () => {
    const received = [
      { id: 'b0', at: at(1), position: [1, 1] }, // first: the start, left out
      { id: 'a1', at: at(2), position: [2, 1] },
      { id: 'same', at: at(3), position: [2, 2] },
      { id: 'same', at: at(4), position: [3, 2] },
      { id: 'b2', at: at(5), position: [3, 3] },
    ];
    expect(compareStream(truth, received, [3, 3])).toEqual({
      missed: [],
      duplicated: [],
      unmatched: [],
    });
  });

  it('reports what a resumed client missed and what it received twice, by message', () => {
    const received = [
      { id: 'b0', at: at(1), position: [1, 1] },
      { id: 'a1', at: at(2), position: [2, 1] },
      // reconnected with an old cursor: a1 again, then skipped partition 1's "same"
      { id: 'a1', at: at(3), position: [2, 1] },
      { id: 'same', at: at(4), position: [3, 1] },
      { id: 'b2', at: at(5), position: [3, 3] },
      { id: 'bogus', at: at(6), position: [3, 3] },
    ];
    const result = compareStream(truth, received, [3, 3]);
    expect(result.missed.map((m) => `${m.partition}:${m.offset}`)).toEqual(['1:1']);
    expect(result.duplicated.map((r) => r.at)).toEqual([3]);
    expect(result.unmatched.map((r) => r.id)).toEqual(['bogus']);
  });

  it('owes nothing before the first event nor past the end given', () => {
    const received = [{ id: 'a1', at: 1, position: [2, 1] }];
    // b0 (1:0) came before a1 in the stream although on another partition: not owed.
    expect(compareStream(truth, received, [2, 2]).missed.map((m) => m.id)).toEqual(['same']);
    expect(compareStream(truth, [], [3, 3]).missed).toEqual([]);
  });

  it('reads the position out of a cursor', () => {
    const body = Buffer.from(JSON.stringify({ v: 1, i: 5, o: [3, 0, 7] })).toString('base64url');
    expect(cursorPosition(`${body}.c2lnbmF0dXJl`)).toEqual([3, 0, 7]);
    expect(cursorPosition('not a cursor')).toBeNull();
  });
});

describe('recovery', () => {
  it('needs a task submitted after the injection completed and every process ready after the action', () => {
    const checks = [
      { at: 1000, allReady: true }, // before the action ended: does not count
      { at: 2500, allReady: false },
      { at: 3000, allReady: true },
    ];
    const completions = [
      { submittedAt: 900, completedAt: 1100 }, // submitted before the injection
      { submittedAt: 1200, completedAt: 4000 },
    ];
    expect(recoveredAt(1000, 2000, checks, completions)).toBe(4000);
    expect(recoveredAt(1000, 2000, checks, [{ submittedAt: 1000, completedAt: 2100 }])).toBe(3000);
    expect(recoveredAt(1000, 2000, checks.slice(0, 2), completions)).toBeNull();
    expect(recoveredAt(1000, 2000, checks, completions.slice(0, 1))).toBeNull();
  });
});
