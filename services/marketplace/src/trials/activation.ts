import type { SagaCommand, SagaSnapshot, SagaTransition } from '@waooaw/shared';
import {
  onActionCompleted,
  onActionFailed,
  onCompensationCompleted,
  restoreSaga,
  resumeCommand,
  TRIAL_FIRST_DELIVERABLE,
} from '@waooaw/shared';
import { trialEndsAt, trialTaskId, trialTaskInput } from '../domain/trial-rules';
import { agentCapacityKey } from '../models/counter';
import type { TrialRecord, TrialStepName } from '../models/trial';
import type { TrialDeps } from './deps';
import { aboutTrial, submittedTask, taskCommand, trialEvent } from './records';
import type { TrialStatusMoves } from './status';

/** A saga step failed: the message becomes the trial's cancel reason. */
class StepFailure extends Error {}

const cancelReasonOf = (reason: string) => `Could not start the trial: ${reason}`;

/** How long a saga runner owns a trial's activation before the sweep may resume it. */
const ACTIVATION_LOCK_MS = 30_000;

/** The end of a fresh activation lease. Leases use the wall clock: they are about processes, not the domain's time. */
export const activationLeaseEnd = () => new Date(Date.now() + ACTIVATION_LOCK_MS);

/** What the saga does at each step; `run` marks the step COMPLETED itself, with its effect where it can. */
interface TrialStep {
  /** Idempotent: a resumed saga may run it again. */
  run(trial: TrialRecord, index: number): Promise<void>;
  /** Idempotent, like `run`; absent when the step leaves nothing to undo. */
  compensate?(trial: TrialRecord, cancelReason: string): Promise<void>;
}

/**
 * A trial's activation, run as a saga on the shared machine: reserve the agent's capacity -> activate
 * -> welcome with the first task; a step that fails is recorded FAILED, the completed ones are undone
 * in reverse order and the trial ends CANCELLED. The trial stores each step's outcome (its
 * `activation.steps`, what the API shows), the machine decides what comes next; a runner holds a lease,
 * and the sweep resumes activations whose runner died from what the steps say.
 */
export function createActivation(deps: TrialDeps, status: TrialStatusMoves) {
  const { trials, counters, activity, logger, clock, rules } = deps;
  const { load, transition } = status;

  async function markStep(
    id: string,
    index: number,
    outcome: 'COMPLETED' | 'FAILED' | 'COMPENSATED',
    error?: string,
  ) {
    await trials.updateOne(
      { _id: id },
      {
        $set: {
          [`activation.steps.${index}.status`]: outcome,
          [`activation.steps.${index}.at`]: clock(),
          ...(error !== undefined ? { [`activation.steps.${index}.error`]: error } : {}),
        },
      },
    );
  }

  const steps: Record<TrialStepName, TrialStep> = {
    RESERVE_CAPACITY: {
      async run(trial, index) {
        const ok = await counters.acquire(agentCapacityKey(trial.agentId), trial._id, rules.maxPerAgent);
        if (!ok)
          throw new StepFailure(
            `${trial.agentName} has no trial capacity left (${rules.maxPerAgent} trials running); try again later`,
          );
        await markStep(trial._id, index, 'COMPLETED');
      },
      compensate: (trial) => counters.release(agentCapacityKey(trial.agentId), trial._id),
    },
    ACTIVATE: {
      async run(trial, index) {
        const now = clock();
        const result = await trials.updateOne(
          { _id: trial._id, status: 'PROVISIONING' },
          {
            $set: {
              status: 'ACTIVE',
              startedAt: now,
              endsAt: trialEndsAt(now, trial.trialDays),
              updatedAt: now,
              [`activation.steps.${index}.status`]: 'COMPLETED',
              [`activation.steps.${index}.at`]: now,
            },
            $push: { outbox: trialEvent(deps.bus, trial, 'ACTIVE', now) },
          },
        );
        if (result.modifiedCount > 0) {
          deps.relay.kick();
          return;
        }
        const current = await load(trial._id);
        if (current?.status === 'ACTIVE') return markStep(trial._id, index, 'COMPLETED');
        throw new StepFailure(
          `the trial was ${current?.status.toLowerCase() ?? 'removed'} while it was being set up`,
        );
      },
      async compensate(trial, cancelReason) {
        await transition(trial._id, 'CANCELLED', ['ACTIVE'], { reason: cancelReason });
      },
    },
    // The activity is out and the first task queued only once the step completed; nothing to undo.
    WELCOME: {
      async run(trial, index) {
        await activity.record({
          id: `trial-started:${trial._id}`,
          kind: 'TRIAL_STARTED',
          message: `A customer started a ${trial.trialDays}-day free trial of ${trial.agentName}`,
          ...aboutTrial(trial),
        });
        const now = clock();
        const task = submittedTask(trialTaskId(trial._id, 'first'), TRIAL_FIRST_DELIVERABLE, null, now);
        const result = await trials.updateOne(
          { _id: trial._id, status: 'ACTIVE', [`activation.steps.${index}.status`]: 'PENDING' },
          {
            $set: {
              [`activation.steps.${index}.status`]: 'COMPLETED',
              [`activation.steps.${index}.at`]: now,
            },
            $push: {
              tasks: task,
              outbox: taskCommand(
                deps.bus,
                trial,
                task,
                trialTaskInput(task.capability, trial.businessContext, '', null),
              ),
            },
          },
        );
        if (result.modifiedCount > 0) {
          deps.relay.kick();
          return;
        }
        const current = await load(trial._id);
        if (current?.activation.steps[index]?.status === 'COMPLETED') return;
        throw new StepFailure(
          `the trial was ${current?.status.toLowerCase() ?? 'removed'} before its first task was sent`,
        );
      },
    },
  };

  /** The machine's snapshot of a trial's activation, from the step outcomes the trial stores. */
  const snapshotOf = (trial: TrialRecord): SagaSnapshot =>
    restoreSaga(
      trial.activation.steps.map((step) => ({
        name: step.name,
        hasCompensation: steps[step.name].compensate !== undefined,
        outcome: step.status,
      })),
      clock().getTime(),
    );

  /**
   * The end of an activation that did not go through, once its completed steps are undone: the trial
   * CANCELLED with the reason, the customer's slot and the agent's capacity given back (also when the
   * trial never became ACTIVE).
   */
  async function endCompensated(trial: TrialRecord, reason: string): Promise<TrialRecord | null> {
    await transition(trial._id, 'CANCELLED', ['PROVISIONING', 'ACTIVE'], { reason: cancelReasonOf(reason) });
    await status.releaseSlots(trial);
    await trials.updateOne(
      { _id: trial._id },
      { $set: { 'activation.state': 'COMPENSATED', 'activation.lockedUntil': null } },
    );
    logger.warn({ trialId: trial._id, reason }, 'trial activation compensated');
    await deps.listingOps.refreshStats(trial.agentId);
    return load(trial._id);
  }

  /** Runs a step's action; a step already COMPLETED (by a runner before this one) is not run again. */
  async function runAction(
    trial: TrialRecord,
    snapshot: SagaSnapshot,
    index: number,
  ): Promise<{ transition: SagaTransition; failure: string | null }> {
    const step = trial.activation.steps[index]!;
    if (step.status !== 'COMPLETED') {
      try {
        await deps.beforeStep?.(step.name, trial);
        await steps[step.name].run(trial, index);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (!(err instanceof StepFailure))
          logger.error({ err, trialId: trial._id, step: step.name }, 'trial step failed');
        await markStep(trial._id, index, 'FAILED', message);
        return { transition: onActionFailed(snapshot, index, message, clock().getTime()), failure: message };
      }
    }
    return { transition: onActionCompleted(snapshot, index, clock().getTime()), failure: null };
  }

  /**
   * Runs (or resumes) a trial's activation from its stored step outcomes. The caller holds the lease.
   * A compensation that throws leaves the activation RUNNING: the next runner (the sweep, once the
   * lease ran out) retries it.
   */
  async function runActivation(id: string): Promise<TrialRecord | null> {
    let trial = await load(id);
    if (!trial || trial.activation.state !== 'RUNNING') return trial;
    const failed = trial.activation.steps.find((s) => s.status === 'FAILED');
    // Why the activation is being undone; set whenever the saga unwinds, which only a failed step starts.
    let reason = failed ? (failed.error ?? `${failed.name} failed`) : null;
    if (!failed && !trial.activation.admitted) {
      // Resumed before the customer's slot was taken (a crash right after the insert): no step has run
      // yet, since admission comes first, so a refusal has nothing to undo.
      if (!(await status.takeCustomerSlot(trial)))
        return endCompensated(trial, `the customer already has ${rules.maxPerCustomer} trials running`);
      await trials.updateOne({ _id: id }, { $set: { 'activation.admitted': true } });
    }
    let snapshot = snapshotOf(trial);
    let command: SagaCommand = resumeCommand(snapshot);
    while (command.kind !== 'NONE') {
      const index = command.step;
      let next: SagaTransition;
      if (command.kind === 'RUN_ACTION') {
        trial = await load(id);
        if (!trial) return null;
        const ran = await runAction(trial, snapshot, index);
        next = ran.transition;
        if (ran.failure !== null) {
          reason = ran.failure;
          trial = (await load(id)) ?? trial;
        }
      } else {
        await steps[trial.activation.steps[index]!.name].compensate?.(trial, cancelReasonOf(reason!));
        await markStep(id, index, 'COMPENSATED');
        next = onCompensationCompleted(snapshot, index, clock().getTime());
      }
      ({ snapshot, command } = next);
    }
    if (snapshot.state !== 'COMPLETED') return endCompensated(trial, reason!);
    await trials.updateOne(
      { _id: id, 'activation.state': 'RUNNING' },
      { $set: { 'activation.state': 'COMPLETED', 'activation.lockedUntil': null } },
    );
    await deps.listingOps.refreshStats(trial.agentId);
    return load(id);
  }

  /** Resumes activations whose runner died (their lease ran out). */
  async function resumeActivations(): Promise<number> {
    let resumed = 0;
    for (;;) {
      const now = new Date();
      const claimed = await trials
        .findOneAndUpdate(
          {
            'activation.state': 'RUNNING',
            $or: [{ 'activation.lockedUntil': null }, { 'activation.lockedUntil': { $lt: now } }],
          },
          { $set: { 'activation.lockedUntil': new Date(now.getTime() + ACTIVATION_LOCK_MS) } },
          { new: true },
        )
        .lean<TrialRecord>();
      if (!claimed) return resumed;
      resumed++;
      logger.info({ trialId: claimed._id }, 'resuming a trial activation');
      await runActivation(claimed._id);
    }
  }

  return { runActivation, resumeActivations };
}
export type Activation = ReturnType<typeof createActivation>;
