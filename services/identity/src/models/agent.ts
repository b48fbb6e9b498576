import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { Capability, LifecycleStatus, OutboxDocument } from '@waooaw/shared';
import {
  AGENT_CATEGORIES,
  AGENT_KINDS,
  AGENT_TIERS,
  appliedEventsSchemaFields,
  LIFECYCLE_STATUSES,
  outboxIndex,
  outboxSchemaFields,
} from '@waooaw/shared';

/** A capability as stored: the version also as a sortable key so ranges can be queried. */
export interface CapabilityRecord extends Capability {
  versionKey: string;
  prerelease: boolean;
}

export interface TransitionRecord {
  from: LifecycleStatus | null;
  to: LifecycleStatus;
  actor: string;
  reason: string;
  at: Date;
}

export interface VersionRecord {
  version: string;
  capabilities: CapabilityRecord[];
  registeredAt: Date;
}

export interface AgentRecord extends OutboxDocument {
  _id: string;
  handle: string;
  name: string;
  description: string;
  version: string;
  kind: (typeof AGENT_KINDS)[number];
  category: (typeof AGENT_CATEGORIES)[number];
  specialization: string;
  industries: string[];
  tier: (typeof AGENT_TIERS)[number];
  tags: string[];
  metadata: Record<string, unknown>;
  status: LifecycleStatus;
  capabilities: CapabilityRecord[];
  history: TransitionRecord[];
  versions: VersionRecord[];
  appliedEventIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

const capability = new Schema<CapabilityRecord>(
  {
    name: { type: String, required: true },
    version: { type: String, required: true },
    versionKey: { type: String, required: true },
    prerelease: { type: Boolean, required: true },
    description: { type: String, required: true },
    tags: { type: [String], default: [] },
    inputModes: { type: [String], default: [] },
    outputModes: { type: [String], default: [] },
    examples: { type: [String], default: [] },
  },
  { _id: false },
);

const agentSchema = new Schema<AgentRecord>(
  {
    _id: { type: String, required: true },
    handle: { type: String, required: true, unique: true },
    name: { type: String, required: true },
    description: { type: String, required: true },
    version: { type: String, required: true },
    kind: { type: String, enum: AGENT_KINDS, required: true },
    category: { type: String, enum: AGENT_CATEGORIES, required: true },
    specialization: { type: String, required: true },
    industries: { type: [String], default: [] },
    tier: { type: String, enum: AGENT_TIERS, required: true },
    tags: { type: [String], default: [] },
    metadata: { type: Schema.Types.Mixed, default: {} },
    status: { type: String, enum: LIFECYCLE_STATUSES, required: true },
    capabilities: { type: [capability], default: [] },
    history: {
      type: [
        new Schema<TransitionRecord>(
          { from: String, to: String, actor: String, reason: String, at: Date },
          { _id: false },
        ),
      ],
      default: [],
    },
    versions: {
      type: [
        new Schema<VersionRecord>(
          { version: String, capabilities: [capability], registeredAt: Date },
          { _id: false },
        ),
      ],
      default: [],
    },
    ...outboxSchemaFields,
    ...appliedEventsSchemaFields,
  },
  { collection: 'agents', timestamps: true, minimize: false },
);
agentSchema.index({ kind: 1, category: 1, status: 1, handle: 1 });
agentSchema.index({ 'capabilities.name': 1 });
agentSchema.index({ tags: 1 });
outboxIndex(agentSchema);

export type AgentModel = Model<AgentRecord>;

export function agentModel(connection: Connection): AgentModel {
  return connection.model<AgentRecord>('Agent', agentSchema);
}
