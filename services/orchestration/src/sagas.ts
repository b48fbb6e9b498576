import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Caller, Logger, Role, SagaCommand } from '@waooaw/shared';
import {
  badUserInput,
  ErrorCode,
  InputLimits,
  onActionCompleted,
  onActionFailed,
  onCompensationCompleted,
  onCompensationFailed,
  parseInput,
  PlatformError,
  resumeCommand,
  RevisionConflictError,
  startSaga,
  updateWithRevision,
} from '@waooaw/shared';
import type { TaskEngine } from './engine';
import { isFinal } from './engine';
import type { SagaModel, SagaRecord } from './models/saga';
import { sagaTaskId } from './models/saga';
import type { TaskModel, TaskRecord } from './models/task';
import type { InstanceReplica } from './replica';
import type { SubmissionDefaults } from './submission';
import { assertTaskInputs, buildTask } from './submission';

const taskSpec = z.object({ capability: z.string() }).passthrough();
const sagaInput = z.object({
  name: z.string().trim().min(1, 'name the saga').max(InputLimits.nameChars),
  steps: z
    .array(
      z.object({
        name: z.string().trim().min(1).max(100),
        action: taskSpec,
        compensation: taskSpec.nullish(),
      }),
    )
    .min(1, 'a saga needs at least one step')
    .max(50),
});

/**
 * Sagas over the task engine: each step's action is a task; when one fails after its retries, the
 * compensations of the completed steps run in reverse order. The saga log is saved with every
 * transition and step tasks have fixed ids, so after a restart `reconcile` resumes where it stopped
 * without running a step twice.
 */
export function createSagaEngine(deps: {
  sagas: SagaModel;
  tasks: TaskModel;
  engine: TaskEngine;
  replica: InstanceReplica;
  logger: Logger;
  defaults: SubmissionDefaults;
  now?: () => number;
}) {
  const { sagas, tasks, engine } = deps;
  const clock = deps.now ?? Date.now;

  const callerOf = (saga: SagaRecord): Caller => ({ sub: saga.submittedBy, roles: saga.roles as Role[] });

  /** Starts the task a command asks for (a no-op when it exists: fixed ids). */
  async function run(saga: SagaRecord, command: SagaCommand): Promise<void> {
    if (command.kind === 'NONE') return;
    const role = command.kind === 'RUN_ACTION' ? 'ACTION' : 'COMPENSATION';
    const step = saga.steps[command.step]!;
    const id = sagaTaskId(saga._id, command.step, role);
    if (await tasks.exists({ _id: id })) return;
    let spec = role === 'ACTION' ? step.action : step.compensation!;
    if (role === 'COMPENSATION') {
      // A compensation sees what its action produced, to undo exactly that.
      const action = await tasks.findById(sagaTaskId(saga._id, command.step, 'ACTION')).lean<TaskRecord>();
      const input = typeof spec.input === 'object' && spec.input !== null ? spec.input : {};
      spec = { ...spec, input: { ...input, action: action?.output ?? null } };
    }
    const task = buildTask(
      spec,
      callerOf(saga),
      { replica: deps.replica, defaults: deps.defaults, now: clock() },
      { id, saga: { sagaId: saga._id, step: command.step, role }, customerId: saga.customerId },
      `steps[${command.step}].${role === 'ACTION' ? 'action' : 'compensation'}`,
    );
    await engine.acceptOnce(task);
  }

  /**
   * Feeds a finished step task to the saga: its transition is saved if the saga did not change
   * meanwhile (else decided again on what it is now), then the command it gives runs.
   */
  async function onTask(task: TaskRecord): Promise<void> {
    const link = task.saga;
    if (!link || !isFinal(task.status)) return;
    const outcome = await updateWithRevision(
      sagas,
      link.sagaId,
      (saga) => {
        const now = clock();
        const ok = task.status === 'COMPLETED';
        const reason = task.error ?? task.status.toLowerCase();
        const transition =
          link.role === 'ACTION'
            ? ok
              ? onActionCompleted(saga.snapshot, link.step, now)
              : onActionFailed(saga.snapshot, link.step, reason, now)
            : ok
              ? onCompensationCompleted(saga.snapshot, link.step, now)
              : onCompensationFailed(saga.snapshot, link.step, reason, now);
        if (transition.snapshot === saga.snapshot) return null;
        const final = ['COMPLETED', 'COMPENSATED', 'FAILED'].includes(transition.snapshot.state);
        return {
          update: {
            $set: {
              snapshot: transition.snapshot,
              updatedAt: new Date(now),
              completedAt: final ? new Date(now) : null,
            },
          },
          value: transition,
        };
      },
      // Through the schema, as sagas have always been written (a transition is no hot path).
      { cast: true },
    ).catch((err: unknown) => {
      if (!(err instanceof RevisionConflictError)) throw err;
      deps.logger.warn({ sagaId: link.sagaId }, 'saga kept changing; the reconciler will resume it');
      return null;
    });
    if (outcome?.written)
      await run({ ...outcome.current, snapshot: outcome.value.snapshot }, outcome.value.command);
  }

  return {
    onTask,

    async submit(input: unknown, who: Caller): Promise<SagaRecord> {
      const parsed = parseInput(sagaInput, input, 'input');
      assertTaskInputs(
        parsed.steps.flatMap((step, i) => [
          { field: `input.steps.${i}.action.input`, input: step.action.input },
          { field: `input.steps.${i}.compensation.input`, input: step.compensation?.input },
        ]),
        'input.steps',
      );
      const now = clock();
      parsed.steps.forEach((step, i) => {
        for (const [side, spec] of [
          ['action', step.action],
          ['compensation', step.compensation],
        ] as const) {
          if (!spec) continue;
          const probe = buildTask(
            spec,
            who,
            { replica: deps.replica, defaults: deps.defaults, now },
            {},
            `steps[${i}].${side}`,
          );
          if (probe.status === 'REJECTED') throw badUserInput(`step ${step.name} (${side}): ${probe.error}`);
        }
      });
      const started = startSaga(
        parsed.steps.map((s) => ({ name: s.name, hasCompensation: Boolean(s.compensation) })),
        now,
      );
      const saga: SagaRecord = {
        _id: `saga-${randomUUID()}`,
        name: parsed.name,
        steps: parsed.steps.map((s) => ({
          name: s.name,
          action: s.action,
          compensation: s.compensation ?? null,
        })),
        snapshot: started.snapshot,
        customerId: who.roles.includes('customer') ? who.sub : null,
        submittedBy: who.sub,
        roles: who.roles,
        rev: 0,
        createdAt: new Date(now),
        updatedAt: new Date(now),
        completedAt: null,
      };
      await sagas.create(saga);
      await run(saga, started.command);
      return saga;
    },

    /**
     * Resumes every unfinished saga: the command its log says is due runs (a no-op if its task
     * exists), and a step task that finished while nobody listened is fed in now.
     */
    async reconcile(): Promise<void> {
      const open = await sagas
        .find({ 'snapshot.state': { $in: ['RUNNING', 'COMPENSATING'] } })
        .lean<SagaRecord[]>();
      for (const saga of open) {
        try {
          const command = resumeCommand(saga.snapshot);
          if (command.kind === 'NONE') continue;
          await run(saga, command);
          const id = sagaTaskId(
            saga._id,
            command.step,
            command.kind === 'RUN_ACTION' ? 'ACTION' : 'COMPENSATION',
          );
          const task = await tasks.findById(id).lean<TaskRecord>();
          if (task && isFinal(task.status)) await onTask(task);
        } catch (err) {
          deps.logger.error({ err, sagaId: saga._id }, 'resuming a saga failed; retrying later');
        }
      }
    },

    async get(id: string): Promise<SagaRecord> {
      const saga = await sagas.findById(id).lean<SagaRecord>();
      if (!saga) throw new PlatformError(ErrorCode.NOT_FOUND, `No saga ${id}`);
      return saga;
    },
  };
}

export type SagaEngine = ReturnType<typeof createSagaEngine>;
