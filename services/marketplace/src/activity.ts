import { randomUUID } from 'node:crypto';
import type { ActivityKind, EventBus, Logger, OutboxRelay } from '@waooaw/shared';
import { marketplaceEvents, outboxEntry } from '@waooaw/shared';
import type { ActivityModel, ActivityRecord } from './models/activity';
import type { AgentCategory } from './models/listing';

export interface ActivityInput {
  /** Derive it from what happened (`trial-started:<trialId>`) so recording it twice stores it once. */
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
      const id = input.id ?? `activity-${randomUUID()}`;
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
        if ((err as { code?: unknown }).code === 11000) return null;
        throw err;
      }
      deps.logger.debug({ activityId: id, kind: input.kind }, 'activity recorded');
      deps.relay.kick();
      return record;
    },
  };
}
export type ActivityLog = ReturnType<typeof createActivityLog>;
