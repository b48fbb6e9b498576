import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Caller, Envelope, EventData, orchestrationEvents } from '@waooaw/shared';
import {
  applyOnce,
  assertMaxBytes,
  badUserInput,
  ErrorCode,
  FINAL_TASK_STATUSES,
  InputLimits,
  isDuplicateKey,
  notFound,
  parseInput,
  PlatformError,
  requireRole,
  TRIAL_FIRST_DELIVERABLE,
} from '@waooaw/shared';
import { assertOwner } from '../access';
import { defaultTaskCapability, trialIdOfTask, trialTaskId, trialTaskInput } from '../domain/trial-rules';
import type { DeliverableRecord } from '../models/deliverable';
import type { ListingRecord } from '../models/listing';
import type { TrialRecord, TrialTaskRecord } from '../models/trial';
import type { TrialDeps } from './deps';
import { aboutTrial, submittedTask, taskCommand } from './records';
import type { TrialStatusMoves } from './status';

type TaskUpdated = EventData<typeof orchestrationEvents.taskUpdated>;

/** A deliverable's id is fixed by its task, so a re-delivered completion stores it once. */
export const deliverableIdOf = (taskId: string) =>
  `dlv-${createHash('sha256').update(taskId).digest('hex').slice(0, 24)}`;

const taskInput = z.object({
  capability: z.string().trim().min(1, 'capability must not be empty').nullish(),
  request: z
    .string()
    .trim()
    .min(3, 'request must say what is wanted (at least 3 characters)')
    .max(
      InputLimits.trialRequestChars,
      `request must be at most ${InputLimits.trialRequestChars} characters`,
    ),
  details: z.record(z.string(), z.unknown()).nullish(),
});

/**
 * The work a trial asks its agent for: tasks the customer requests (within the trial's task limit,
 * only while it is ACTIVE), and orchestration's news of them, which becomes the task's status and,
 * when one completes with output, a deliverable the customer keeps.
 */
export function createTrialTasks(deps: TrialDeps, status: TrialStatusMoves) {
  const { trials, listings, activity, clock, rules } = deps;
  const { load } = status;

  async function requestTask(
    caller: Caller | null,
    trialId: string,
    input: { capability?: string | null; request: string; details?: Record<string, unknown> | null },
  ): Promise<TrialTaskRecord> {
    const who = requireRole(caller, 'customer');
    const trial = await load(trialId);
    if (!trial) throw notFound('Trial', trialId);
    assertOwner(who, trial.customerId, 'trial');
    if (trial.status !== 'ACTIVE')
      throw new PlatformError(
        ErrorCode.CONFLICT,
        `This trial is ${trial.status}; only an ACTIVE trial takes requests (its deliverables stay readable)`,
        { status: trial.status },
      );
    const parsed = parseInput(taskInput, input, 'input');
    assertMaxBytes('input.details', parsed.details, InputLimits.trialDetailsBytes);
    const listing = await listings.findById(trial.agentId, { capabilityNames: 1 }).lean<ListingRecord>();
    const offered = listing?.capabilityNames ?? [];
    const capability = parsed.capability ?? defaultTaskCapability(offered);
    if (!capability || !offered.includes(capability))
      throw badUserInput(
        `${trial.agentName} has no capability "${capability ?? ''}"; use one of: ${offered.join(', ')}`,
        { field: 'input.capability', capabilities: offered },
      );
    const now = clock();
    const task = submittedTask(
      trialTaskId(trialId, randomUUID().slice(0, 8)),
      capability,
      parsed.request,
      now,
    );
    const command = taskCommand(
      deps.bus,
      trial,
      task,
      trialTaskInput(capability, trial.businessContext, parsed.request, parsed.details),
    );
    // Still ACTIVE and below the task limit, checked in the same update that adds the task.
    const result = await trials.updateOne(
      { _id: trialId, status: 'ACTIVE', [`tasks.${rules.maxTasksPerTrial - 1}`]: { $exists: false } },
      { $push: { tasks: task, outbox: command }, $set: { updatedAt: now } },
    );
    if (result.modifiedCount === 0) {
      const current = await load(trialId);
      if (current?.status !== 'ACTIVE')
        throw new PlatformError(
          ErrorCode.CONFLICT,
          `This trial is ${current?.status ?? 'gone'}; only an ACTIVE trial takes requests`,
          { status: current?.status ?? null },
        );
      throw new PlatformError(
        ErrorCode.TRIAL_TASK_LIMIT_REACHED,
        `This trial has asked for ${rules.maxTasksPerTrial} tasks, the most a trial may; convert it to keep working with ${trial.agentName}`,
        { limit: rules.maxTasksPerTrial },
      );
    }
    deps.relay.kick();
    return task;
  }

  /** orchestration's news of a task the marketplace submitted for a trial. */
  async function onTaskUpdated(data: TaskUpdated, envelope: Envelope) {
    const trialId = trialIdOfTask(data.taskId);
    if (!trialId) return;
    const trial = await trials.findOne({ _id: trialId, 'tasks.id': data.taskId }).lean<TrialRecord>();
    if (!trial) return;
    const final = FINAL_TASK_STATUSES.includes(data.status);
    const at = new Date(data.at);
    let deliverable: DeliverableRecord | null = null;
    if (data.status === 'COMPLETED' && data.output) {
      const task = trial.tasks.find((t) => t.id === data.taskId)!;
      deliverable = {
        _id: deliverableIdOf(data.taskId),
        trialId,
        customerId: trial.customerId,
        agentId: trial.agentId,
        taskId: data.taskId,
        capability: task.capability,
        title: data.output.title,
        content: data.output.content,
        format: data.output.format,
        summary: data.output.summary,
        createdAt: at,
      };
      try {
        await deps.deliverables.create(deliverable);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    const failed = data.status === 'FAILED' || data.status === 'REJECTED' || data.status === 'CANCELED';
    // Tasks are only ever appended, so the index is stable; the update checks the id is still there
    // and that the task has not finished (a late non-final status never overwrites a final one).
    const index = trial.tasks.findIndex((t) => t.id === data.taskId);
    const path = `tasks.${index}`;
    await applyOnce(
      trials,
      { _id: trialId, [`${path}.id`]: data.taskId, [`${path}.status`]: { $nin: FINAL_TASK_STATUSES } },
      envelope.id,
      {
        $set: {
          [`${path}.status`]: data.status,
          [`${path}.error`]: failed ? (data.error ?? `the task ended ${data.status}`) : null,
          [`${path}.completedAt`]: final ? at : null,
          ...(deliverable ? { [`${path}.deliverableId`]: deliverable._id } : {}),
        },
      },
    );
    if (deliverable) {
      const first = deliverable.capability === TRIAL_FIRST_DELIVERABLE;
      await activity.record({
        id: `deliverable-ready:${deliverable._id}`,
        kind: 'DELIVERABLE_READY',
        message: first
          ? `${trial.agentName} delivered a trial's first deliverable`
          : `${trial.agentName} delivered work for a trial (${deliverable.capability})`,
        ...aboutTrial(trial),
        deliverableId: deliverable._id,
      });
    }
  }

  return { requestTask, onTaskUpdated };
}
