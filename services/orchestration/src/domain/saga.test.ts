import type { SagaCommand, SagaSnapshot, SagaStepDefinition, SagaTransition } from './saga';
import {
  onActionCompleted,
  onActionFailed,
  onCompensationCompleted,
  onCompensationFailed,
  resumeCommand,
  startSaga,
} from './saga';

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
});
