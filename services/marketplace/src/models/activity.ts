import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { ActivityKind, OutboxDocument } from '@waooaw/shared';
import { ACTIVITY_KINDS, AGENT_CATEGORIES, outboxIndex, outboxSchemaFields } from '@waooaw/shared';
import type { AgentCategory } from './listing';

/**
 * Something that happened in the marketplace. Each carries its own `marketplace.activity.created`
 * event in its outbox, written with it; ids derived from what happened make a repeat a no-op.
 */
export interface ActivityRecord extends OutboxDocument {
  _id: string;
  kind: ActivityKind;
  /** Never names the customer. */
  message: string;
  agentId: string;
  handle: string;
  category: AgentCategory;
  customerId: string | null;
  trialId: string | null;
  deliverableId: string | null;
  createdAt: Date;
}

const activitySchema = new Schema<ActivityRecord>(
  {
    _id: String,
    kind: { type: String, enum: ACTIVITY_KINDS, required: true },
    message: { type: String, required: true },
    agentId: { type: String, required: true },
    handle: { type: String, required: true },
    category: { type: String, enum: AGENT_CATEGORIES, required: true },
    customerId: { type: String, default: null },
    trialId: { type: String, default: null },
    deliverableId: { type: String, default: null },
    createdAt: { type: Date, required: true },
    ...outboxSchemaFields,
  },
  { collection: 'activities', minimize: false },
);
activitySchema.index({ createdAt: -1, _id: -1 });
activitySchema.index({ category: 1, createdAt: -1 });
activitySchema.index({ agentId: 1, createdAt: -1 });
activitySchema.index({ trialId: 1, kind: 1 });
outboxIndex(activitySchema);

export type ActivityModel = Model<ActivityRecord>;
export const activityModel = (connection: Connection): ActivityModel =>
  connection.model<ActivityRecord>('Activity', activitySchema);
