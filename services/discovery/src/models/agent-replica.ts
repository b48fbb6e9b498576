import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { AgentRegistration, LifecycleStatus } from '@waooaw/shared';
import { AGENT_TIERS, appliedEventsSchemaFields, LIFECYCLE_STATUSES } from '@waooaw/shared';

/**
 * What discovery knows of an agent, kept from identity's events (no service reads another's
 * database): its id for a runtime's handle, its lifecycle (only ACTIVE agents take work) and its
 * capabilities (the default of an instance registered through the API).
 */
export interface AgentReplicaRecord {
  _id: string;
  handle: string;
  /** Null until identity's registration event arrived (a lifecycle event may come first). */
  version: string | null;
  tier: AgentRegistration['tier'] | null;
  status: LifecycleStatus | null;
  /** Time of the event that set `status`: events of different topics may arrive out of order. */
  statusAt: Date | null;
  capabilities: { name: string; version: string }[];
  appliedEventIds: string[];
}

const agentReplicaSchema = new Schema<AgentReplicaRecord>(
  {
    _id: String,
    handle: { type: String, required: true },
    version: { type: String, default: null },
    tier: { type: String, enum: [...AGENT_TIERS, null], default: null },
    status: { type: String, enum: [...LIFECYCLE_STATUSES, null], default: null },
    statusAt: { type: Date, default: null },
    capabilities: {
      type: [new Schema({ name: String, version: String }, { _id: false })],
      default: [],
    },
    ...appliedEventsSchemaFields,
  },
  { collection: 'agents', minimize: false },
);
agentReplicaSchema.index({ handle: 1 });

export type AgentReplicaModel = Model<AgentReplicaRecord>;
export const agentReplicaModel = (connection: Connection): AgentReplicaModel =>
  connection.model<AgentReplicaRecord>('AgentReplica', agentReplicaSchema);
