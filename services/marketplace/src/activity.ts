import { createHash, randomUUID } from 'node:crypto';
import type { ActivityKind, EventBus, Logger, OutboxRelay } from '@waooaw/shared';
import { isDuplicateKey, marketplaceEvents, outboxEntry } from '@waooaw/shared';
import type { ActivityModel, ActivityRecord } from './models/activity';
import type { AgentCategory } from './models/listing';

export interface ActivityInput {
  /**
   * What happened (`trial-started:<trialId>`), so recording it twice stores it once. It names private
   * records, so the activity's id (public: recentActivity, the activityFeed subscription) is its hash.
   */
  id?: string;
  kind: ActivityKind;
  message: string;
  agentId: string;
  handle: string;
  category: AgentCategory;
  customerId?: string | null;
  trialId?: string | null;
  deliverableId?: string | null;
}

/**
 * The public id of the activity recorded for `what` happened: the same for the same happening (a
 * repeat is a no-op), and telling nothing of the trial, deliverable or subscription it was about.
 */
export const activityIdFor = (what: string) =>
  `act-${createHash('sha256').update(what).digest('base64url').slice(0, 32)}`;

/**
 * The activity log: each activity is stored with its `marketplace.activity.created` event in its
 * own outbox (one insert, nothing lost between the two); a repeated id is a no-op.
 */
export function createActivityLog(deps: {
  activities: ActivityModel;
  bus: Pick<EventBus, 'source'>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  clock: () => Date;
}) {
  return {
    async record(
      input: ActivityInput,
      options: { traceparent?: string } = {},
    ): Promise<ActivityRecord | null> {
      const id = input.id ? activityIdFor(input.id) : `act-${randomUUID()}`;
      const at = deps.clock();
      const data = {
        activityId: id,
        kind: input.kind,
        message: input.message,
        agentId: input.agentId,
        handle: input.handle,
        category: input.category,
        customerId: input.customerId ?? null,
        trialId: input.trialId ?? null,
        deliverableId: input.deliverableId ?? null,
        at: at.toISOString(),
      };
      const record: ActivityRecord = {
        _id: id,
        kind: input.kind,
        message: input.message,
        agentId: input.agentId,
        handle: input.handle,
        category: input.category,
        customerId: data.customerId,
        trialId: data.trialId,
        deliverableId: data.deliverableId,
        createdAt: at,
        // Keyed by agent: one agent's activity stays in order for feed subscribers.
        outbox: [
          outboxEntry(deps.bus, marketplaceEvents.activityCreated, data, {
            subject: id,
            key: input.agentId,
            ...(options.traceparent ? { traceparent: options.traceparent } : {}),
          }),
        ],
        outboxLockedUntil: null,
      };
      try {
        await deps.activities.create(record);
      } catch (err) {
        if (isDuplicateKey(err)) return null;
        throw err;
      }
      deps.logger.debug({ activityId: id, kind: input.kind }, 'activity recorded');
      deps.relay.kick();
      return record;
    },
  };
}
export type ActivityLog = ReturnType<typeof createActivityLog>;
