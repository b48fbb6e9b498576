// The saga state machine: ordered steps, each an action with an optional compensation. This is domain logic
// we own: when to compensate, in which order, and when a human must step in are our rules, which no library
// models. It is the one saga engine of the platform: orchestration's user-defined sagas (steps are tasks,
// the snapshot is stored whole) and the marketplace's trial activation (steps are its own calls, each step's
// outcome is stored on the trial) both drive it. Whoever drives it persists the snapshot and runs the
// commands; this module only decides what happens next. Pure code: time is passed in as `now` (ms),
// snapshots are plain JSON and are never mutated.
//
// Delivery is at least once: an event may arrive twice or late, and after a crash `resumeCommand` re-issues
// the interrupted command, so actions and compensations must be idempotent.

/** The saga as a whole. COMPLETED and COMPENSATED are clean ends; FAILED means a compensation failed. */
export type SagaState = 'RUNNING' | 'COMPLETED' | 'COMPENSATING' | 'COMPENSATED' | 'FAILED';

/** One step's progress through its action and, on the way back, its compensation. */
export type SagaStepState =
  'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'COMPENSATING' | 'COMPENSATED' | 'COMPENSATION_FAILED';

/** How a step is declared when the saga starts. */
export interface SagaStepDefinition {
  name: string;
  /** Whether the step can be undone; a step without one stays COMPLETED when the saga unwinds. */
  hasCompensation: boolean;
}

/** A step inside a snapshot. */
export interface SagaStepSnapshot extends SagaStepDefinition {
  state: SagaStepState;
}

/** One line of the saga's history, so an operator can see what happened and when. */
export interface SagaLogEntry {
  at: number;
  /** The step the entry is about, or null for the saga as a whole. */
  step: string | null;
  event: string;
}

/** Everything the engine persists about a saga; plain JSON, so it round-trips through storage unchanged. */
export interface SagaSnapshot {
  readonly state: SagaState;
  readonly steps: readonly SagaStepSnapshot[];
  readonly log: readonly SagaLogEntry[];
}

/** What the engine must do next: run a step's action, run its compensation, or nothing. */
export type SagaCommand =
  { kind: 'RUN_ACTION'; step: number } | { kind: 'RUN_COMPENSATION'; step: number } | { kind: 'NONE' };

/** The answer to every event: the new snapshot to persist and the command to run. */
export interface SagaTransition {
  snapshot: SagaSnapshot;
  command: SagaCommand;
}

const NONE: SagaCommand = Object.freeze({ kind: 'NONE' });

/** A working copy the transition functions may change before handing it out. */
interface Draft {
  state: SagaState;
  steps: SagaStepSnapshot[];
  log: SagaLogEntry[];
}

function draftOf(s: SagaSnapshot): Draft {
  return { state: s.state, steps: s.steps.map((step) => ({ ...step })), log: s.log.map((e) => ({ ...e })) };
}

function logTo(d: Draft, at: number, step: number | null, event: string): void {
  d.log.push({ at, step: step === null ? null : d.steps[step]!.name, event });
}

/** An ignored event: the same snapshot back and no command, so duplicates and late events are harmless. */
function ignored(s: SagaSnapshot): SagaTransition {
  return { snapshot: s, command: NONE };
}

/** Whether `step` is the step the saga is waiting on, in the given saga and step state. */
function isCurrent(s: SagaSnapshot, step: number, sagaState: SagaState, stepState: SagaStepState): boolean {
  return s.state === sagaState && Number.isInteger(step) && s.steps[step]?.state === stepState;
}

/**
 * Walks back from `from` to the first step: the next COMPLETED step with a compensation starts compensating;
 * COMPLETED steps without one stay COMPLETED and are logged as 'no compensation'. When none is left the saga
 * is COMPENSATED.
 */
function compensateFrom(d: Draft, from: number, now: number): SagaCommand {
  for (let i = from; i >= 0; i--) {
    const step = d.steps[i]!;
    if (step.state !== 'COMPLETED') continue;
    if (!step.hasCompensation) {
      logTo(d, now, i, 'no compensation');
      continue;
    }
    step.state = 'COMPENSATING';
    logTo(d, now, i, 'compensation started');
    return { kind: 'RUN_COMPENSATION', step: i };
  }
  d.state = 'COMPENSATED';
  logTo(d, now, null, 'saga compensated');
  return NONE;
}

/** Zero steps is nothing to coordinate; the log names steps, so names must tell them apart. */
function checkDefinitions(steps: readonly SagaStepDefinition[]): void {
  if (steps.length === 0) throw new Error('a saga needs at least one step');
  const names = new Set<string>();
  for (const step of steps) {
    if (names.has(step.name)) throw new Error(`saga step names must be unique; ${step.name} appears twice`);
    names.add(step.name);
  }
}

/**
 * Starts a saga: the first step RUNNING and its action to run. Throws on zero steps and on repeated step
 * names.
 */
export function startSaga(steps: readonly SagaStepDefinition[], now: number): SagaTransition {
  checkDefinitions(steps);
  const d: Draft = {
    state: 'RUNNING',
    steps: steps.map((step, i) => ({
      name: step.name,
      hasCompensation: step.hasCompensation,
      state: i === 0 ? 'RUNNING' : 'PENDING',
    })),
    log: [],
  };
  logTo(d, now, null, 'saga started');
  logTo(d, now, 0, 'action started');
  return { snapshot: d, command: { kind: 'RUN_ACTION', step: 0 } };
}

/** The running step's action succeeded: start the next step, or finish the saga as COMPLETED. */
export function onActionCompleted(s: SagaSnapshot, step: number, now: number): SagaTransition {
  if (!isCurrent(s, step, 'RUNNING', 'RUNNING')) return ignored(s);
  const d = draftOf(s);
  d.steps[step]!.state = 'COMPLETED';
  logTo(d, now, step, 'action completed');
  const next = step + 1;
  if (next < d.steps.length) {
    d.steps[next]!.state = 'RUNNING';
    logTo(d, now, next, 'action started');
    return { snapshot: d, command: { kind: 'RUN_ACTION', step: next } };
  }
  d.state = 'COMPLETED';
  logTo(d, now, null, 'saga completed');
  return { snapshot: d, command: NONE };
}

/**
 * The running step's action failed: the step is FAILED (its action is assumed to have left no effect, so it
 * is not compensated) and the saga unwinds, compensating the completed steps in reverse order. Steps without
 * a compensation stay COMPLETED with a 'no compensation' log entry. When nothing needs compensating (e.g. the
 * first step failed) the saga goes straight to COMPENSATED.
 */
export function onActionFailed(s: SagaSnapshot, step: number, reason: string, now: number): SagaTransition {
  if (!isCurrent(s, step, 'RUNNING', 'RUNNING')) return ignored(s);
  const d = draftOf(s);
  d.steps[step]!.state = 'FAILED';
  logTo(d, now, step, `action failed: ${reason}`);
  d.state = 'COMPENSATING';
  logTo(d, now, null, 'saga compensating');
  const command = compensateFrom(d, step - 1, now);
  return { snapshot: d, command };
}

/** The compensating step was undone: compensate the next one back, or finish the saga as COMPENSATED. */
export function onCompensationCompleted(s: SagaSnapshot, step: number, now: number): SagaTransition {
  if (!isCurrent(s, step, 'COMPENSATING', 'COMPENSATING')) return ignored(s);
  const d = draftOf(s);
  d.steps[step]!.state = 'COMPENSATED';
  logTo(d, now, step, 'compensation completed');
  const command = compensateFrom(d, step - 1, now);
  return { snapshot: d, command };
}

/**
 * A compensation failed: the step is COMPENSATION_FAILED and the saga FAILED, with no further command. The
 * system is now partly undone, which only a human can resolve; retrying is the engine's job before it
 * reports this event.
 */
export function onCompensationFailed(
  s: SagaSnapshot,
  step: number,
  reason: string,
  now: number,
): SagaTransition {
  if (!isCurrent(s, step, 'COMPENSATING', 'COMPENSATING')) return ignored(s);
  const d = draftOf(s);
  d.steps[step]!.state = 'COMPENSATION_FAILED';
  logTo(d, now, step, `compensation failed: ${reason}`);
  d.state = 'FAILED';
  logTo(d, now, null, 'saga failed: needs manual intervention');
  return { snapshot: d, command: NONE };
}

/**
 * After a restart: the command that must run now given the snapshot (the RUNNING step's action, or the
 * COMPENSATING step's compensation), so an interrupted saga resumes; NONE once the saga has ended.
 */
export function resumeCommand(s: SagaSnapshot): SagaCommand {
  if (s.state === 'RUNNING') {
    const step = s.steps.findIndex((x) => x.state === 'RUNNING');
    if (step >= 0) return { kind: 'RUN_ACTION', step };
  } else if (s.state === 'COMPENSATING') {
    const step = s.steps.findIndex((x) => x.state === 'COMPENSATING');
    if (step >= 0) return { kind: 'RUN_COMPENSATION', step };
  }
  return NONE;
}

/** What a driver that stores only finished work knows of a step: done, failed, undone, or not yet. */
export type SagaStepOutcome = 'PENDING' | 'COMPLETED' | 'FAILED' | 'COMPENSATED';

/** A step as such a driver stored it. */
export interface RecordedSagaStep extends SagaStepDefinition {
  outcome: SagaStepOutcome;
}

/**
 * Rebuilds the snapshot of a saga from the stored outcome of each step, for a driver that keeps no
 * snapshot of its own (what is in flight follows from what is done, since the machine moves one step at a
 * time): with no failure, the first step not yet done is RUNNING; after a failure the saga is COMPENSATING
 * from the failed step back, exactly as `onActionFailed` left it, or COMPENSATED when nothing is left to
 * undo. Feed the snapshot to `resumeCommand`. Throws on outcomes the machine cannot have produced, so a
 * corrupt record stops the driver rather than running a step twice or skipping one.
 */
export function restoreSaga(steps: readonly RecordedSagaStep[], now: number): SagaSnapshot {
  checkDefinitions(steps);
  const problem = (why: string) => new Error(`cannot restore the saga from its steps: ${why}`);
  const failedAt = steps.findIndex((step) => step.outcome === 'FAILED');
  let neverRan: string | null = null;
  let undone: string | null = null;
  steps.forEach(({ name, outcome, hasCompensation }, i) => {
    if (failedAt >= 0 && i > failedAt) {
      if (outcome !== 'PENDING') throw problem(`${name} is ${outcome} after the step that failed`);
      return;
    }
    if (outcome !== 'PENDING' && neverRan)
      throw problem(`${name} is ${outcome} though ${neverRan} never ran`);
    if (outcome === 'COMPENSATED' && failedAt < 0) throw problem(`${name} was undone though no step failed`);
    if (outcome === 'COMPENSATED' && !hasCompensation)
      throw problem(`${name} has no compensation to undo it`);
    // Compensation runs backwards: a step that can be undone is undone before any step ahead of it.
    if (outcome === 'COMPLETED' && hasCompensation && undone)
      throw problem(`${undone} was undone before ${name}, which comes after it`);
    if (outcome === 'PENDING') neverRan ??= name;
    if (outcome === 'COMPENSATED') undone ??= name;
  });
  const d: Draft = {
    state: 'RUNNING',
    steps: steps.map((step) => ({
      name: step.name,
      hasCompensation: step.hasCompensation,
      state: step.outcome,
    })),
    log: [],
  };
  logTo(d, now, null, 'saga restored');
  if (failedAt >= 0) {
    d.state = 'COMPENSATING';
    // Marks the highest step still done COMPENSATING, or ends the saga COMPENSATED.
    compensateFrom(d, failedAt - 1, now);
    return d;
  }
  const next = d.steps.findIndex((step) => step.state === 'PENDING');
  if (next < 0) {
    d.state = 'COMPLETED';
    logTo(d, now, null, 'saga completed');
  } else {
    d.steps[next]!.state = 'RUNNING';
    logTo(d, now, next, 'action started');
  }
  return d;
}
