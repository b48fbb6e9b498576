import { responseTimes, retention, taskFigures } from './performance';

const at = (iso: string) => new Date(`2025-06-${iso}Z`);

describe('retention over a window', () => {
  it('keeps the subscriptions active in the window that are still active at its end', () => {
    // Window: June 10 to June 20.
    const since = at('10T00:00:00');
    const until = at('20T00:00:00');
    const figures = retention(
      [
        { startedAt: at('01T00:00:00'), cancelledAt: null }, // active throughout: retained
        { startedAt: at('01T00:00:00'), cancelledAt: at('05T00:00:00') }, // gone before the window: not counted
        { startedAt: at('02T00:00:00'), cancelledAt: at('15T00:00:00') }, // cancelled inside: counted, lost
        { startedAt: at('12T00:00:00'), cancelledAt: null }, // started inside: retained
        { startedAt: at('18T00:00:00'), cancelledAt: at('25T00:00:00') }, // cancelled after the end: retained
        { startedAt: at('21T00:00:00'), cancelledAt: null }, // started after the window: not counted
      ],
      since,
      until,
    );
    // Counted: 1st, 3rd, 4th, 5th = 4; retained: 1st, 4th, 5th = 3; 3 / 4 = 0.75.
    expect(figures).toEqual({ subscriptions: 4, retainedSubscriptions: 3, retentionRate: 0.75 });
    expect(retention([], since, until).retentionRate).toBeNull();
  });
});

describe("a customer's trial tasks in figures", () => {
  it('counts tasks by outcome and times the completed ones from request to completion', () => {
    const requested = at('01T10:00:00');
    const after = (ms: number) => new Date(requested.getTime() + ms);
    const figures = taskFigures([
      { status: 'COMPLETED', requestedAt: requested, completedAt: after(4_000) },
      { status: 'COMPLETED', requestedAt: requested, completedAt: after(1_000) },
      { status: 'COMPLETED', requestedAt: requested, completedAt: after(10_000) },
      { status: 'FAILED', requestedAt: requested, completedAt: after(500) },
      { status: 'REJECTED', requestedAt: requested, completedAt: null },
      { status: 'WORKING', requestedAt: requested, completedAt: null },
    ]);
    // 6 tasks: 3 completed, 2 unsuccessful (FAILED, REJECTED), 1 open.
    // Completed times sorted [1000, 4000, 10000]: mean 15000 / 3 = 5000;
    // p50 = rank ceil(1.5) = 2 -> 4000; p95 = rank ceil(2.85) = 3 -> 10000. The failure's time is not a response.
    expect(figures).toEqual({
      tasks: 6,
      tasksCompleted: 3,
      tasksUnsuccessful: 2,
      tasksOpen: 1,
      averageResponseMs: 5000,
      p50ResponseMs: 4000,
      p95ResponseMs: 10000,
    });
    expect(responseTimes([])).toEqual({ averageResponseMs: null, p50ResponseMs: null, p95ResponseMs: null });
  });
});
