import type {
  RecordedSagaStep,
  SagaCommand,
  SagaSnapshot,
  SagaStepDefinition,
  SagaStepOutcome,
  SagaTransition,
} from './machine';
import {
  onActionCompleted,
  onActionFailed,
  onCompensationCompleted,
  onCompensationFailed,
  restoreSaga,
  resumeCommand,
  startSaga,
} from './machine';

const THREE: SagaStepDefinition[] = [
  { name: 'reserve', hasCompensation: true },
  { name: 'charge', hasCompensation: true },
  { name: 'ship', hasCompensation: true },
];

const stepStates = (s: SagaSnapshot): string[] => s.steps.map((step) => step.state);

/** Checks a transition does not mutate its input and that its output survives a JSON round trip. */
function checked(input: SagaSnapshot, apply: (s: SagaSnapshot) => SagaTransition): SagaTransition {
  const before = JSON.stringify(input);
  const result = apply(input);
  expect(JSON.stringify(input)).toBe(before);
  expect(JSON.parse(JSON.stringify(result.snapshot))).toEqual(result.snapshot);
  return result;
}

/** Drives a saga through the given action outcomes and compensation outcomes, recording every command. */
function runThree(failAt: number): { commands: SagaCommand[]; final: SagaSnapshot } {
  let { snapshot, command } = startSaga(THREE, 0);
  const commands: SagaCommand[] = [command];
  let now = 0;
  while (command.kind !== 'NONE') {
    now += 10;
    const step = command.step;
    const next: SagaTransition =
      command.kind === 'RUN_ACTION'
        ? step === failAt
          ? checked(snapshot, (s) => onActionFailed(s, step, 'boom', now))
          : checked(snapshot, (s) => onActionCompleted(s, step, now))
        : checked(snapshot, (s) => onCompensationCompleted(s, step, now));
    ({ snapshot, command } = next);
    commands.push(command);
  }
  return { commands, final: snapshot };
}

describe('saga state machine', () => {
  it('starts with the first step running, and refuses an empty or ambiguous saga', () => {
    const { snapshot, command } = startSaga(THREE, 5);
    expect(command).toEqual({ kind: 'RUN_ACTION', step: 0 });
    expect(snapshot.state).toBe('RUNNING');
    expect(stepStates(snapshot)).toEqual(['RUNNING', 'PENDING', 'PENDING']);
    expect(snapshot.log).toEqual([
      { at: 5, step: null, event: 'saga started' },
      { at: 5, step: 'reserve', event: 'action started' },
    ]);
    expect(() => startSaga([], 0)).toThrow('a saga needs at least one step');
    expect(() =>
      startSaga(
        [
          { name: 'a', hasCompensation: false },
          { name: 'a', hasCompensation: true },
        ],
        0,
      ),
    ).toThrow('saga step names must be unique');
  });

  it('completes when every step succeeds', () => {
    const { commands, final } = runThree(-1);
    expect(commands).toEqual([
      { kind: 'RUN_ACTION', step: 0 },
      { kind: 'RUN_ACTION', step: 1 },
      { kind: 'RUN_ACTION', step: 2 },
      { kind: 'NONE' },
    ]);
    expect(final.state).toBe('COMPLETED');
    expect(stepStates(final)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(final.log.at(-1)).toEqual({ at: 30, step: null, event: 'saga completed' });
  });

  it('compensates steps 2 then 1 when the third step fails, ending COMPENSATED', () => {
    const { commands, final } = runThree(2);
    expect(commands).toEqual([
      { kind: 'RUN_ACTION', step: 0 },
      { kind: 'RUN_ACTION', step: 1 },
      { kind: 'RUN_ACTION', step: 2 },
      { kind: 'RUN_COMPENSATION', step: 1 },
      { kind: 'RUN_COMPENSATION', step: 0 },
      { kind: 'NONE' },
    ]);
    expect(final.state).toBe('COMPENSATED');
    expect(stepStates(final)).toEqual(['COMPENSATED', 'COMPENSATED', 'FAILED']);
    expect(final.log).toEqual([
      { at: 0, step: null, event: 'saga started' },
      { at: 0, step: 'reserve', event: 'action started' },
      { at: 10, step: 'reserve', event: 'action completed' },
      { at: 10, step: 'charge', event: 'action started' },
      { at: 20, step: 'charge', event: 'action completed' },
      { at: 20, step: 'ship', event: 'action started' },
      { at: 30, step: 'ship', event: 'action failed: boom' },
      { at: 30, step: null, event: 'saga compensating' },
      { at: 30, step: 'charge', event: 'compensation started' },
      { at: 40, step: 'charge', event: 'compensation completed' },
      { at: 40, step: 'reserve', event: 'compensation started' },
      { at: 50, step: 'reserve', event: 'compensation completed' },
      { at: 50, step: null, event: 'saga compensated' },
    ]);
  });

  it('goes straight to COMPENSATED when the first step fails', () => {
    const { commands, final } = runThree(0);
    expect(commands).toEqual([{ kind: 'RUN_ACTION', step: 0 }, { kind: 'NONE' }]);
    expect(final.state).toBe('COMPENSATED');
    expect(stepStates(final)).toEqual(['FAILED', 'PENDING', 'PENDING']);
    expect(final.log.slice(-3).map((e) => e.event)).toEqual([
      'action failed: boom',
      'saga compensating',
      'saga compensated',
    ]);
  });

  it('skips a step without compensation while unwinding, leaving it COMPLETED', () => {
    let t = startSaga(
      [
        { name: 'reserve', hasCompensation: true },
        { name: 'notify', hasCompensation: false },
        { name: 'charge', hasCompensation: true },
      ],
      0,
    );
    t = onActionCompleted(t.snapshot, 0, 1);
    t = onActionCompleted(t.snapshot, 1, 2);
    t = onActionFailed(t.snapshot, 2, 'card declined', 3);
    expect(t.command).toEqual({ kind: 'RUN_COMPENSATION', step: 0 });
    expect(stepStates(t.snapshot)).toEqual(['COMPENSATING', 'COMPLETED', 'FAILED']);
    expect(t.snapshot.log.slice(-4)).toEqual([
      { at: 3, step: 'charge', event: 'action failed: card declined' },
      { at: 3, step: null, event: 'saga compensating' },
      { at: 3, step: 'notify', event: 'no compensation' },
      { at: 3, step: 'reserve', event: 'compensation started' },
    ]);
    t = onCompensationCompleted(t.snapshot, 0, 4);
    expect(t.command).toEqual({ kind: 'NONE' });
    expect(t.snapshot.state).toBe('COMPENSATED');
    expect(stepStates(t.snapshot)).toEqual(['COMPENSATED', 'COMPLETED', 'FAILED']);
  });

  it('ends COMPENSATED when no completed step has a compensation', () => {
    let t = startSaga(
      [
        { name: 'log', hasCompensation: false },
        { name: 'send', hasCompensation: true },
      ],
      0,
    );
    t = onActionCompleted(t.snapshot, 0, 1);
    t = onActionFailed(t.snapshot, 1, 'timeout', 2);
    expect(t.command).toEqual({ kind: 'NONE' });
    expect(t.snapshot.state).toBe('COMPENSATED');
    expect(stepStates(t.snapshot)).toEqual(['COMPLETED', 'FAILED']);
    expect(t.snapshot.log.slice(-2).map((e) => e.event)).toEqual(['no compensation', 'saga compensated']);
  });

  it('fails the saga, with no further command, when a compensation fails', () => {
    let t = startSaga(THREE, 0);
    t = onActionCompleted(t.snapshot, 0, 1);
    t = onActionCompleted(t.snapshot, 1, 2);
    t = onActionFailed(t.snapshot, 2, 'boom', 3);
    t = checked(t.snapshot, (s) => onCompensationFailed(s, 1, 'refund rejected', 4));
    expect(t.command).toEqual({ kind: 'NONE' });
    expect(t.snapshot.state).toBe('FAILED');
    expect(stepStates(t.snapshot)).toEqual(['COMPLETED', 'COMPENSATION_FAILED', 'FAILED']);
    expect(t.snapshot.log.slice(-2)).toEqual([
      { at: 4, step: 'charge', event: 'compensation failed: refund rejected' },
      { at: 4, step: null, event: 'saga failed: needs manual intervention' },
    ]);
    expect(resumeCommand(t.snapshot)).toEqual({ kind: 'NONE' });
    // A late compensation result for the failed step changes nothing.
    expect(onCompensationCompleted(t.snapshot, 1, 5).snapshot).toBe(t.snapshot);
  });

  it('tells a restarted engine what to run at every stage', () => {
    let t = startSaga(THREE, 0);
    const restored = (s: SagaSnapshot): SagaSnapshot => JSON.parse(JSON.stringify(s)) as SagaSnapshot;
    expect(resumeCommand(restored(t.snapshot))).toEqual({ kind: 'RUN_ACTION', step: 0 });
    t = onActionCompleted(restored(t.snapshot), 0, 1);
    expect(resumeCommand(restored(t.snapshot))).toEqual({ kind: 'RUN_ACTION', step: 1 });
    t = onActionCompleted(restored(t.snapshot), 1, 2);
    expect(resumeCommand(restored(t.snapshot))).toEqual({ kind: 'RUN_ACTION', step: 2 });
    t = onActionFailed(restored(t.snapshot), 2, 'boom', 3);
    expect(resumeCommand(restored(t.snapshot))).toEqual({ kind: 'RUN_COMPENSATION', step: 1 });
    t = onCompensationCompleted(restored(t.snapshot), 1, 4);
    expect(resumeCommand(restored(t.snapshot))).toEqual({ kind: 'RUN_COMPENSATION', step: 0 });
    t = onCompensationCompleted(restored(t.snapshot), 0, 5);
    expect(t.snapshot.state).toBe('COMPENSATED');
    expect(resumeCommand(restored(t.snapshot))).toEqual({ kind: 'NONE' });

    const done = runThree(-1).final;
    expect(resumeCommand(done)).toEqual({ kind: 'NONE' });
  });

  it('ignores duplicate, late and out-of-range events, returning the same snapshot', () => {
    let t = startSaga(THREE, 0);
    t = onActionCompleted(t.snapshot, 0, 1);
    const afterFirst = t.snapshot;

    // A duplicate completion of step 0, and events for a step that has not started.
    const ignoredCases: SagaTransition[] = [
      onActionCompleted(afterFirst, 0, 2),
      onActionFailed(afterFirst, 0, 'late', 2),
      onActionCompleted(afterFirst, 2, 2),
      onActionCompleted(afterFirst, 7, 2),
      onActionCompleted(afterFirst, -1, 2),
      onActionCompleted(afterFirst, 0.5, 2),
      onCompensationCompleted(afterFirst, 0, 2),
      onCompensationFailed(afterFirst, 1, 'no', 2),
    ];
    for (const result of ignoredCases) {
      expect(result.snapshot).toBe(afterFirst);
      expect(result.command).toEqual({ kind: 'NONE' });
    }

    // Once compensating, a late action result is ignored, and so is a duplicate compensation result.
    t = onActionFailed(afterFirst, 1, 'boom', 3);
    const compensating = t.snapshot;
    expect(onActionCompleted(compensating, 1, 4).snapshot).toBe(compensating);
    t = onCompensationCompleted(compensating, 0, 4);
    expect(t.snapshot.state).toBe('COMPENSATED');
    expect(onCompensationCompleted(t.snapshot, 0, 5)).toEqual({
      snapshot: t.snapshot,
      command: { kind: 'NONE' },
    });
    expect(onCompensationCompleted(compensating, 0, 4)).toEqual(t);
  });

  it('appends one or more log entries on every transition and never mutates its input', () => {
    const start = startSaga(THREE, 0).snapshot;
    const frozen = JSON.stringify(start);
    const next = checked(start, (s) => onActionCompleted(s, 0, 1)).snapshot;
    expect(JSON.stringify(start)).toBe(frozen);
    expect(next.log.length).toBeGreaterThan(start.log.length);
    expect(next.log.slice(0, start.log.length)).toEqual(start.log);
    expect(next.steps).not.toBe(start.steps);
    expect(next.log).not.toBe(start.log);
  });

  it('fails at each step in turn, undoing exactly the steps before it, last first', () => {
    for (let failAt = 0; failAt < THREE.length; failAt++) {
      const { commands, final } = runThree(failAt);
      const forward = Array.from({ length: failAt + 1 }, (_, step) => ({ kind: 'RUN_ACTION', step }));
      const back = Array.from({ length: failAt }, (_, i) => ({
        kind: 'RUN_COMPENSATION',
        step: failAt - 1 - i,
      }));
      expect(commands).toEqual([...forward, ...back, { kind: 'NONE' }]);
      expect(final.state).toBe('COMPENSATED');
      expect(stepStates(final)).toEqual(
        THREE.map((_, i) => (i < failAt ? 'COMPENSATED' : i === failAt ? 'FAILED' : 'PENDING')),
      );
    }
  });

  it('re-issues a compensation whose result never came (a retry), and takes its result once', () => {
    let t = startSaga(THREE, 0);
    t = onActionCompleted(t.snapshot, 0, 1);
    t = onActionCompleted(t.snapshot, 1, 2);
    t = onActionFailed(t.snapshot, 2, 'boom', 3);
    expect(t.command).toEqual({ kind: 'RUN_COMPENSATION', step: 1 });
    // The driver crashed, or the compensation threw before reporting: asked again, the same command.
    const waiting = t.snapshot;
    expect(resumeCommand(waiting)).toEqual({ kind: 'RUN_COMPENSATION', step: 1 });
    expect(resumeCommand(JSON.parse(JSON.stringify(waiting)) as SagaSnapshot)).toEqual(t.command);
    // The retry succeeded; the first attempt's late success is a duplicate and changes nothing.
    t = onCompensationCompleted(waiting, 1, 4);
    expect(t.command).toEqual({ kind: 'RUN_COMPENSATION', step: 0 });
    expect(onCompensationCompleted(t.snapshot, 1, 5).snapshot).toBe(t.snapshot);
    t = onCompensationCompleted(t.snapshot, 0, 6);
    expect(t.snapshot.state).toBe('COMPENSATED');
    expect(t.snapshot.log.filter((e) => e.event === 'compensation completed').map((e) => e.step)).toEqual([
      'charge',
      'reserve',
    ]);
  });

  it('takes a re-delivered step result once: the second delivery returns the same snapshot and no command', () => {
    const first = onActionCompleted(startSaga(THREE, 0).snapshot, 0, 1);
    const again = onActionCompleted(first.snapshot, 0, 2);
    expect(again.snapshot).toBe(first.snapshot);
    expect(again.command).toEqual({ kind: 'NONE' });
    // A failure re-delivered after the saga moved to compensating does not start a second unwinding.
    const failed = onActionFailed(first.snapshot, 1, 'boom', 3);
    expect(onActionFailed(failed.snapshot, 1, 'boom', 4).snapshot).toBe(failed.snapshot);
    // Re-delivering the result that ended the saga leaves it ended.
    const done = runThree(-1).final;
    expect(onActionCompleted(done, 2, 99).snapshot).toBe(done);
  });

  describe('restoring from stored step outcomes', () => {
    const recorded = (...outcomes: SagaStepOutcome[]): RecordedSagaStep[] =>
      THREE.map((step, i) => ({ ...step, outcome: outcomes[i]! }));

    it('continues forward from the first step not yet done', () => {
      const fresh = restoreSaga(recorded('PENDING', 'PENDING', 'PENDING'), 7);
      expect(fresh.state).toBe('RUNNING');
      expect(resumeCommand(fresh)).toEqual({ kind: 'RUN_ACTION', step: 0 });
      const midway = restoreSaga(recorded('COMPLETED', 'PENDING', 'PENDING'), 7);
      expect(stepStates(midway)).toEqual(['COMPLETED', 'RUNNING', 'PENDING']);
      expect(resumeCommand(midway)).toEqual({ kind: 'RUN_ACTION', step: 1 });
      expect(midway.log).toEqual([
        { at: 7, step: null, event: 'saga restored' },
        { at: 7, step: 'charge', event: 'action started' },
      ]);
      // The restored saga moves on like one that never stopped.
      const t = onActionCompleted(midway, 1, 8);
      expect(t.command).toEqual({ kind: 'RUN_ACTION', step: 2 });
    });

    it('is COMPLETED when every step is done', () => {
      const done = restoreSaga(recorded('COMPLETED', 'COMPLETED', 'COMPLETED'), 1);
      expect(done.state).toBe('COMPLETED');
      expect(resumeCommand(done)).toEqual({ kind: 'NONE' });
    });

    it('resumes an unwinding at the highest step still done, and is COMPENSATED when none is left', () => {
      const justFailed = restoreSaga(recorded('COMPLETED', 'COMPLETED', 'FAILED'), 1);
      expect(justFailed.state).toBe('COMPENSATING');
      expect(stepStates(justFailed)).toEqual(['COMPLETED', 'COMPENSATING', 'FAILED']);
      expect(resumeCommand(justFailed)).toEqual({ kind: 'RUN_COMPENSATION', step: 1 });
      // Equal to the snapshot the machine itself reached, apart from the log.
      let live = startSaga(THREE, 0);
      live = onActionCompleted(live.snapshot, 0, 0);
      live = onActionCompleted(live.snapshot, 1, 0);
      live = onActionFailed(live.snapshot, 2, 'boom', 0);
      expect({ ...justFailed, log: [] }).toEqual({ ...live.snapshot, log: [] });

      const halfway = restoreSaga(recorded('COMPLETED', 'COMPENSATED', 'FAILED'), 1);
      expect(resumeCommand(halfway)).toEqual({ kind: 'RUN_COMPENSATION', step: 0 });
      const undone = restoreSaga(recorded('COMPENSATED', 'COMPENSATED', 'FAILED'), 1);
      expect(undone.state).toBe('COMPENSATED');
      expect(resumeCommand(undone)).toEqual({ kind: 'NONE' });
      const firstFailed = restoreSaga(recorded('FAILED', 'PENDING', 'PENDING'), 1);
      expect(firstFailed.state).toBe('COMPENSATED');
    });

    it('refuses outcomes the machine cannot have produced', () => {
      const cases: [SagaStepOutcome[], RegExp][] = [
        [['PENDING', 'COMPLETED', 'PENDING'], /charge is COMPLETED though reserve never ran/],
        [['COMPLETED', 'FAILED', 'FAILED'], /ship is FAILED after the step that failed/],
        [['COMPLETED', 'FAILED', 'COMPLETED'], /ship is COMPLETED after the step that failed/],
        [['COMPENSATED', 'COMPLETED', 'PENDING'], /reserve was undone though no step failed/],
        [['PENDING', 'PENDING', 'FAILED'], /ship is FAILED though reserve never ran/],
        [['COMPENSATED', 'COMPLETED', 'FAILED'], /reserve was undone before charge/],
      ];
      for (const [outcomes, message] of cases)
        expect(() => restoreSaga(recorded(...outcomes), 0)).toThrow(message);
      expect(() =>
        restoreSaga(
          [
            { name: 'log', hasCompensation: false, outcome: 'COMPENSATED' },
            { name: 'send', hasCompensation: true, outcome: 'FAILED' },
          ],
          0,
        ),
      ).toThrow(/log has no compensation/);
      expect(() => restoreSaga([], 0)).toThrow('a saga needs at least one step');
    });
  });
});
