import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type {
  Caller,
  Envelope,
  EventBus,
  EventData,
  Logger,
  OutboxRelay,
  TrialStatus,
  orchestrationEvents,
} from '@waooaw/shared';
import {
  applyOnce,
  assertMaxBytes,
  assertMaxLength,
  badUserInput,
  businessContextSchema,
  ErrorCode,
  FINAL_TASK_STATUSES,
  InputLimits,
  marketplaceEvents,
  notFound,
  orchestrationCommands,
  outboxEntry,
  parseInput,
  PlatformError,
  requireRole,
  TRIAL_FIRST_DELIVERABLE,
} from '@waooaw/shared';
import { assertOwner, assertOwnerOrStaff } from './access';
import type { ActivityLog } from './activity';
import {
  cooldownEndsAt,
  defaultTaskCapability,
  dueReminders,
  endedKey,
  isRunning,
  runningKey,
  TRIAL_REMINDERS,
  trialEndsAt,
  trialIdOfTask,
  trialTaskId,
  trialTaskInput,
} from './domain/trial-rules';
import type { Listings } from './listings';
import { isListed } from './listings';
import type { Counters } from './models/counter';
import { agentCapacityKey, customerSlotKey } from './models/counter';
import type { DeliverableModel, DeliverableRecord } from './models/deliverable';
import type { ListingModel, ListingRecord } from './models/listing';
import type { TrialModel, TrialRecord, TrialStepName, TrialTaskRecord } from './models/trial';
import { TRIAL_STEP_NAMES } from './models/trial';

type TaskUpdated = EventData<typeof orchestrationEvents.taskUpdated>;

export interface TrialRules {
  /** Days before a customer may trial the same agent again (MARKETPLACE_TRIAL_COOLDOWN_DAYS). */
  cooldownDays: number;
  /** Concurrent trials (PROVISIONING or ACTIVE) per customer. */
  maxPerCustomer: number;
  /** Concurrent trials per agent (MARKETPLACE_MAX_TRIALS_PER_AGENT). */
  maxPerAgent: number;
  /** Tasks one trial may ask for. */
  maxTasksPerTrial: number;
}

/** Test seam: runs before each activation step; throwing makes the step fail. */
export type StepHook = (step: TrialStepName, trial: TrialRecord) => Promise<void> | void;

/** A saga step failed: the message becomes the trial's cancel reason. */
class StepFailure extends Error {}

/** How long a saga runner owns a trial's activation before the sweep may resume it. */
const ACTIVATION_LOCK_MS = 30_000;

export const deliverableIdOf = (taskId: string) =>
  `dlv-${createHash('sha256').update(taskId).digest('hex').slice(0, 24)}`;

const startInput = z.object({
  agentId: z.string().trim().min(1, 'agentId is required (the id of a listing)'),
  businessContext: z.unknown(),
});

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

const iso = (d: Date) => d.toISOString();

/**
 * Trials: the rules for starting one, the activation saga (reserve the agent's capacity ->
 * activate -> welcome with the first task), tasks, cancel, expiry with reminders, and the
 * deliverables the agents send back. Time comes from `clock`, so tests control it.
 */
export function createTrials(deps: {
  trials: TrialModel;
  listings: ListingModel;
  deliverables: DeliverableModel;
  counters: Counters;
  listingOps: Listings;
  activity: ActivityLog;
  bus: Pick<EventBus, 'source'>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  clock: () => Date;
  rules: TrialRules;
  beforeStep?: StepHook;
}) {
  const { trials, listings, counters, activity, logger, clock, rules } = deps;
  /** Leases use the wall clock: they are about processes, not about the domain's time. */
  const wallNow = () => new Date();

  const trialEvent = (
    trial: Pick<TrialRecord, '_id' | 'customerId' | 'agentId'>,
    status: TrialStatus,
    at: Date,
  ) =>
    outboxEntry(
      deps.bus,
      marketplaceEvents.trialUpdated,
      { trialId: trial._id, customerId: trial.customerId, agentId: trial.agentId, status, at: iso(at) },
      { subject: trial._id },
    );

  const taskCommand = (trial: TrialRecord, task: TrialTaskRecord, input: Record<string, unknown>) =>
    outboxEntry(
      deps.bus,
      orchestrationCommands.submitTask,
      {
        taskId: task.id,
        actor: trial.customerId,
        customerId: trial.customerId,
        // Pinned to the trial's agent: the customer is trying this agent, not any with the capability.
        spec: { capability: task.capability, agentHandle: trial.handle, input },
      },
      { subject: task.id },
    );

  const load = (id: string) => trials.findById(id).lean<TrialRecord>();

  async function releaseSlots(trial: Pick<TrialRecord, '_id' | 'customerId' | 'agentId'>) {
    await counters.release(customerSlotKey(trial.customerId), trial._id);
    await counters.release(agentCapacityKey(trial.agentId), trial._id);
  }

  /**
   * Moves a trial to `to` if it is still in the status it was read in (optimistic; retried on a
   * race while the move stays allowed). Ending a running trial sets `endedAt`, frees the unique
   * running key and gives the customer's slot and the agent's capacity back.
   */
  async function transition(
    id: string,
    to: TrialStatus,
    from: readonly TrialStatus[],
    extra: { reason?: string | null; unlessConverting?: boolean } = {},
  ): Promise<{ trial: TrialRecord | null; moved: boolean; previous: TrialStatus | null }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await load(id);
      if (!current || !from.includes(current.status)) return { trial: current, moved: false, previous: null };
      if (extra.unlessConverting && current.conversion)
        return { trial: current, moved: false, previous: null };
      const now = clock();
      const ending = isRunning(current.status) && !isRunning(to);
      const updated = await trials
        .findOneAndUpdate(
          // A conversion recorded meanwhile wins over the move (its charge may already be taken).
          { _id: id, status: current.status, ...(extra.unlessConverting ? { conversion: null } : {}) },
          {
            $set: {
              status: to,
              updatedAt: now,
              ...(ending ? { endedAt: now, activeKey: endedKey(id) } : {}),
              ...(extra.reason !== undefined ? { cancelReason: extra.reason } : {}),
            },
            $push: { outbox: trialEvent(current, to, now) },
          },
          { new: true },
        )
        .lean<TrialRecord>();
      if (!updated) continue;
      deps.relay.kick();
      if (ending) await releaseSlots(updated);
      return { trial: updated, moved: true, previous: current.status };
    }
    return { trial: await load(id), moved: false, previous: null };
  }

  async function markStep(
    id: string,
    index: number,
    status: 'COMPLETED' | 'FAILED' | 'COMPENSATED',
    error?: string,
  ) {
    await trials.updateOne(
      { _id: id },
      {
        $set: {
          [`activation.steps.${index}.status`]: status,
          [`activation.steps.${index}.at`]: clock(),
          ...(error !== undefined ? { [`activation.steps.${index}.error`]: error } : {}),
        },
      },
    );
  }

  /** The saga's steps: each `run` is idempotent (a resumed saga may run it again), as is `compensate`. */
  const steps: Record<
    TrialStepName,
    {
      run(trial: TrialRecord, index: number): Promise<void>;
      compensate(trial: TrialRecord, cancelReason: string): Promise<void>;
    }
  > = {
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
            $push: { outbox: trialEvent(trial, 'ACTIVE', now) },
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
    WELCOME: {
      async run(trial, index) {
        await activity.record({
          id: `trial-started:${trial._id}`,
          kind: 'TRIAL_STARTED',
          message: `A customer started a ${trial.trialDays}-day free trial of ${trial.agentName}`,
          agentId: trial.agentId,
          handle: trial.handle,
          category: trial.category,
          customerId: trial.customerId,
          trialId: trial._id,
        });
        const now = clock();
        const task: TrialTaskRecord = {
          id: trialTaskId(trial._id, 'first'),
          capability: TRIAL_FIRST_DELIVERABLE,
          request: null,
          status: 'SUBMITTED',
          error: null,
          requestedAt: now,
          completedAt: null,
          deliverableId: null,
        };
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
      // The activity is out and the first task queued only once the step completed; nothing to undo.
      compensate: async () => undefined,
    },
  };

  /** Undoes the completed steps in reverse order and ends the trial CANCELLED with the reason. */
  async function compensate(trial: TrialRecord, reason: string): Promise<TrialRecord | null> {
    const cancelReason = `Could not start the trial: ${reason}`;
    for (let i = trial.activation.steps.length - 1; i >= 0; i--) {
      const step = trial.activation.steps[i]!;
      if (step.status !== 'COMPLETED') continue;
      await steps[step.name].compensate(trial, cancelReason);
      await markStep(trial._id, i, 'COMPENSATED');
    }
    await transition(trial._id, 'CANCELLED', ['PROVISIONING', 'ACTIVE'], { reason: cancelReason });
    await releaseSlots(trial);
    await trials.updateOne(
      { _id: trial._id },
      { $set: { 'activation.state': 'COMPENSATED', 'activation.lockedUntil': null } },
    );
    logger.warn({ trialId: trial._id, reason }, 'trial activation compensated');
    await deps.listingOps.refreshStats(trial.agentId);
    return load(trial._id);
  }

  /**
   * Runs (or resumes) a trial's activation from its persisted step log. The caller holds the lease.
   * A step that fails is recorded FAILED and the completed ones are compensated.
   */
  async function runActivation(id: string): Promise<TrialRecord | null> {
    let trial = await load(id);
    if (!trial || trial.activation.state !== 'RUNNING') return trial;
    const failed = trial.activation.steps.find((s) => s.status === 'FAILED');
    if (failed) return compensate(trial, failed.error ?? `${failed.name} failed`);
    if (!trial.activation.admitted) {
      // Resumed before the customer's slot was taken (a crash right after the insert).
      if (!(await counters.acquire(customerSlotKey(trial.customerId), id, rules.maxPerCustomer)))
        return compensate(trial, `the customer already has ${rules.maxPerCustomer} trials running`);
      await trials.updateOne({ _id: id }, { $set: { 'activation.admitted': true } });
    }
    for (let index = 0; index < TRIAL_STEP_NAMES.length; index++) {
      trial = await load(id);
      if (!trial) return null;
      const step = trial.activation.steps[index]!;
      if (step.status === 'COMPLETED') continue;
      try {
        await deps.beforeStep?.(step.name, trial);
        await steps[step.name].run(trial, index);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (!(err instanceof StepFailure))
          logger.error({ err, trialId: id, step: step.name }, 'trial step failed');
        await markStep(id, index, 'FAILED', message);
        return compensate((await load(id)) ?? trial, message);
      }
    }
    await trials.updateOne(
      { _id: id, 'activation.state': 'RUNNING' },
      { $set: { 'activation.state': 'COMPLETED', 'activation.lockedUntil': null } },
    );
    await deps.listingOps.refreshStats(trial.agentId);
    return load(id);
  }

  async function start(
    caller: Caller | null,
    input: { agentId: string; businessContext: unknown },
  ): Promise<TrialRecord> {
    const who = requireRole(caller, 'customer');
    const { agentId } = parseInput(startInput, input, 'input');
    const context = input.businessContext;
    if (typeof context !== 'object' || context === null || Array.isArray(context))
      throw badUserInput(
        'input.businessContext must be an object such as { "businessName": "Sunrise Clinic" }',
        {
          field: 'input.businessContext',
        },
      );
    assertMaxBytes('input.businessContext', context, InputLimits.businessContextBytes);
    const businessContext = parseInput(businessContextSchema, context, 'businessContext');

    const listing = await listings.findById(agentId).lean<ListingRecord>();
    if (!listing?.registered)
      throw new PlatformError(
        ErrorCode.NOT_FOUND,
        `No marketplace listing has id "${agentId}"; pick an agent from listings`,
        { entity: 'Listing', id: agentId },
      );
    if (!isListed(listing))
      throw new PlatformError(
        ErrorCode.AGENT_UNAVAILABLE,
        `${listing.name} is ${listing.status ?? 'not ready'} and takes no trials now; choose another agent`,
        { agentId, status: listing.status },
      );

    const running = await trials.findOne({ activeKey: runningKey(who.sub, agentId) }).lean<TrialRecord>();
    if (running) throw alreadyActive(listing, running);

    const now = clock();
    const previous = await trials
      .findOne({ customerId: who.sub, agentId, 'activation.state': 'COMPLETED', endedAt: { $ne: null } })
      .sort({ endedAt: -1 })
      .lean<TrialRecord>();
    const until = cooldownEndsAt(previous?.endedAt ?? null, rules.cooldownDays);
    if (previous && until && until > now)
      throw new PlatformError(
        ErrorCode.TRIAL_COOLDOWN,
        `Your trial of ${listing.name} ended on ${iso(previous.endedAt!)}; you can start another trial of it from ${iso(until)} (${rules.cooldownDays}-day cooldown); its deliverables stay readable.`,
        { availableFrom: iso(until), previousTrialId: previous._id, cooldownDays: rules.cooldownDays },
      );

    const id = `trial-${randomUUID()}`;
    const record: TrialRecord = {
      _id: id,
      customerId: who.sub,
      agentId,
      handle: listing.handle,
      agentName: listing.name,
      category: listing.category,
      trialDays: listing.trialDays,
      businessContext,
      status: 'PROVISIONING',
      activeKey: runningKey(who.sub, agentId),
      createdAt: now,
      startedAt: null,
      endsAt: null,
      endedAt: null,
      cancelReason: null,
      activation: {
        state: 'RUNNING',
        admitted: false,
        steps: TRIAL_STEP_NAMES.map((name) => ({ name, status: 'PENDING', at: null, error: null })),
        lockedUntil: new Date(wallNow().getTime() + ACTIVATION_LOCK_MS),
      },
      remindersSent: [],
      tasks: [],
      appliedEventIds: [],
      outbox: [],
      outboxLockedUntil: null,
      updatedAt: now,
    };
    try {
      await trials.create(record);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 11000) throw err;
      // A concurrent start of the same customer and agent won the unique running key.
      const winner = await trials.findOne({ activeKey: record.activeKey }).lean<TrialRecord>();
      throw alreadyActive(listing, winner);
    }
    // The customer's concurrent-trial slot: one conditional update, so racing starts cannot exceed it.
    if (!(await counters.acquire(customerSlotKey(who.sub), id, rules.maxPerCustomer))) {
      await trials.deleteOne({ _id: id, status: 'PROVISIONING' });
      const holders = await counters.holdersOf(customerSlotKey(who.sub));
      throw new PlatformError(
        ErrorCode.TRIAL_LIMIT_REACHED,
        `You already have ${rules.maxPerCustomer} trials running (the most at once); cancel or convert one of them (${holders.join(', ')}) before starting another`,
        { limit: rules.maxPerCustomer, trialIds: holders },
      );
    }
    // Announced only once admitted: a refused start leaves no trace for consumers to clean up.
    await trials.updateOne(
      { _id: id },
      { $set: { 'activation.admitted': true }, $push: { outbox: trialEvent(record, 'PROVISIONING', now) } },
    );
    logger.info({ trialId: id, agentId, customerId: who.sub }, 'trial requested');
    return (await runActivation(id)) ?? record;
  }

  function alreadyActive(listing: ListingRecord, running: TrialRecord | null) {
    return new PlatformError(
      ErrorCode.TRIAL_ALREADY_ACTIVE,
      `You already have a running trial of ${listing.name}${running ? ` (${running._id})` : ''}; use it, or cancel it before starting another`,
      { trialId: running?._id ?? null },
    );
  }

  async function cancel(
    caller: Caller | null,
    id: string,
    reason: string | null | undefined,
  ): Promise<TrialRecord> {
    const who = requireRole(caller, 'customer', 'operator', 'admin');
    assertMaxLength('reason', reason, InputLimits.reasonChars);
    const trial = await load(id);
    if (!trial) throw notFound('Trial', id);
    assertOwnerOrStaff(who, trial.customerId, 'trial');
    if (!isRunning(trial.status)) return trial;
    if (trial.conversion) throw beingConverted(trial);
    const why = reason?.trim()
      ? reason.trim().slice(0, 500)
      : `cancelled by ${who.sub === trial.customerId ? 'the customer' : who.sub}`;
    const {
      trial: cancelled,
      moved,
      previous,
    } = await transition(id, 'CANCELLED', ['PROVISIONING', 'ACTIVE'], {
      reason: why,
      unlessConverting: true,
    });
    if (!moved && cancelled?.conversion && isRunning(cancelled.status)) throw beingConverted(cancelled);
    if (moved && previous === 'ACTIVE') {
      await activity.record({
        id: `trial-ended:${id}`,
        kind: 'TRIAL_ENDED',
        message: `A free trial of ${trial.agentName} was cancelled`,
        agentId: trial.agentId,
        handle: trial.handle,
        category: trial.category,
        customerId: trial.customerId,
        trialId: id,
      });
    }
    return cancelled ?? trial;
  }

  /** A trial whose conversion was asked for is not cancelled: the customer may already be charged. */
  function beingConverted(trial: TrialRecord) {
    const plan = trial.conversion!.plan;
    return new PlatformError(
      ErrorCode.CONFLICT,
      `This trial is being converted to the ${plan.name} plan (subscription ${trial.conversion!.subscriptionId}); cancel that subscription instead of the trial`,
      { subscriptionId: trial.conversion!.subscriptionId, plan: plan.id },
    );
  }

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
    const task: TrialTaskRecord = {
      id: trialTaskId(trialId, randomUUID().slice(0, 8)),
      capability,
      request: parsed.request,
      status: 'SUBMITTED',
      error: null,
      requestedAt: now,
      completedAt: null,
      deliverableId: null,
    };
    const command = taskCommand(
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
        if ((err as { code?: unknown }).code !== 11000) throw err;
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
        agentId: trial.agentId,
        handle: trial.handle,
        category: trial.category,
        customerId: trial.customerId,
        trialId,
        deliverableId: deliverable._id,
      });
    }
  }

  /** Trials past their end become EXPIRED (TRIAL_ENDED); reminders go out 2 days, 1 day and 6 hours before. */
  async function expireAndRemind(): Promise<{ expired: number; reminded: number }> {
    const now = clock();
    let expired = 0;
    let reminded = 0;
    const due = await trials
      .find({ status: 'ACTIVE', endsAt: { $lte: now } }, { _id: 1 })
      .limit(500)
      .lean<Pick<TrialRecord, '_id'>[]>();
    for (const { _id } of due) {
      const { trial, moved } = await transition(_id, 'EXPIRED', ['ACTIVE']);
      if (!moved || !trial) continue;
      expired++;
      await activity.record({
        id: `trial-ended:${_id}`,
        kind: 'TRIAL_ENDED',
        message: `A ${trial.trialDays}-day free trial of ${trial.agentName} ended`,
        agentId: trial.agentId,
        handle: trial.handle,
        category: trial.category,
        customerId: trial.customerId,
        trialId: _id,
      });
      await deps.listingOps.refreshStats(trial.agentId);
    }
    const furthest = Math.max(...TRIAL_REMINDERS.map((r) => r.beforeEndMs));
    const soon = await trials
      .find({
        status: 'ACTIVE',
        endsAt: { $gt: now, $lte: new Date(now.getTime() + furthest) },
        remindersSent: { $nin: [TRIAL_REMINDERS.at(-1)!.key] },
      })
      .limit(500)
      .lean<TrialRecord[]>();
    for (const trial of soon) {
      const reminder = dueReminders(trial.endsAt!, trial.remindersSent, now);
      if (!reminder) continue;
      // The activity first (its id makes it once per reminder), then the mark: a crash in between
      // only means the next sweep marks it.
      await activity.record({
        id: `trial-reminder:${trial._id}:${reminder.announce.key}`,
        kind: 'TRIAL_REMINDER',
        message: `A free trial of ${trial.agentName} ends in ${reminder.announce.label}`,
        agentId: trial.agentId,
        handle: trial.handle,
        category: trial.category,
        customerId: trial.customerId,
        trialId: trial._id,
      });
      await trials.updateOne(
        { _id: trial._id, status: 'ACTIVE' },
        { $addToSet: { remindersSent: { $each: reminder.due } } },
      );
      reminded++;
    }
    return { expired, reminded };
  }

  /** Resumes activations whose runner died (their lease ran out). */
  async function resumeActivations(): Promise<number> {
    let resumed = 0;
    for (;;) {
      const now = wallNow();
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

  /** Gives back slots whose trial no longer runs (a crash between ending a trial and releasing). */
  async function repairCounters(counterHolders: { _id: string; holders: string[] }[]): Promise<number> {
    const ids = [...new Set(counterHolders.flatMap((c) => c.holders))];
    if (ids.length === 0) return 0;
    const running = new Set(
      (
        await trials
          .find({ _id: { $in: ids }, status: { $in: ['PROVISIONING', 'ACTIVE'] } }, { _id: 1 })
          .lean<Pick<TrialRecord, '_id'>[]>()
      ).map((t) => t._id),
    );
    let released = 0;
    for (const counter of counterHolders) {
      for (const holder of counter.holders) {
        if (running.has(holder)) continue;
        await counters.release(counter._id, holder);
        released++;
      }
    }
    return released;
  }

  return {
    start,
    cancel,
    requestTask,
    transition,
    onTaskUpdated,
    expireAndRemind,
    resumeActivations,
    repairCounters,
    runActivation,
  };
}
export type Trials = ReturnType<typeof createTrials>;
