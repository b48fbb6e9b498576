import type { EventBus, TrialStatus } from '@waooaw/shared';
import { marketplaceEvents, orchestrationCommands, outboxEntry } from '@waooaw/shared';
import type { ActivityInput } from '../activity';
import type { TrialRecord, TrialTaskRecord } from '../models/trial';

// What every part of a trial writes the same way: its status event, its task commands, a new task and
// the fields an activity about it carries.

export const iso = (d: Date) => d.toISOString();

type Source = Pick<EventBus, 'source'>;

/** The outbox entry announcing a trial's status (marketplace.trial.updated). */
export const trialEvent = (
  bus: Source,
  trial: Pick<TrialRecord, '_id' | 'customerId' | 'agentId'>,
  status: TrialStatus,
  at: Date,
) =>
  outboxEntry(
    bus,
    marketplaceEvents.trialUpdated,
    { trialId: trial._id, customerId: trial.customerId, agentId: trial.agentId, status, at: iso(at) },
    { subject: trial._id },
  );

/** The outbox entry asking orchestration to run a trial's task. */
export const taskCommand = (
  bus: Source,
  trial: TrialRecord,
  task: TrialTaskRecord,
  input: Record<string, unknown>,
) =>
  outboxEntry(
    bus,
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

/** A task as it is recorded when it is sent: SUBMITTED, no outcome yet. */
export const submittedTask = (
  id: string,
  capability: string,
  request: string | null,
  now: Date,
): TrialTaskRecord => ({
  id,
  capability,
  request,
  status: 'SUBMITTED',
  error: null,
  requestedAt: now,
  completedAt: null,
  deliverableId: null,
});

/** The fields every activity about a trial carries. */
export const aboutTrial = (
  trial: Pick<TrialRecord, '_id' | 'agentId' | 'handle' | 'category' | 'customerId'>,
): Pick<ActivityInput, 'agentId' | 'handle' | 'category' | 'customerId' | 'trialId'> => ({
  agentId: trial.agentId,
  handle: trial.handle,
  category: trial.category,
  customerId: trial.customerId,
  trialId: trial._id,
});
