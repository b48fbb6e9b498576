import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type {
  BreakerPresetName,
  BreakerSnapshot,
  HealthSnapshot,
  InstanceLoad,
  InstanceRegistration,
  OutboxDocument,
} from '@waooaw/shared';
import { AGENT_TIERS, BREAKER_PRESET_NAMES, outboxIndex, outboxSchemaFields } from '@waooaw/shared';

export const INSTANCE_SOURCES = ['RUNTIME', 'API'] as const;
export const INSTANCE_STATUSES = ['ACTIVE', 'DEREGISTERED', 'REMOVED'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/**
 * Event ids an instance remembers: fewer than the APPLIED_EVENTS_KEPT other documents keep, because
 * instances are the most written documents here (a heartbeat every 2 s and a result per task they
 * run), every write carries the list, and each discovery process caches every live instance with it.
 * The window Kafka re-delivers holds about a second of an instance's events: a heartbeat or so and
 * its results. An instance finishing more than ~100 tasks in that second could have a replayed
 * result counted twice in its breaker's window (or an old load sample applied again until its next
 * heartbeat); the value is kept from before the bound was shared, not measured.
 */
export const INSTANCE_APPLIED_KEPT = 100;

export interface InstanceRecord extends OutboxDocument {
  _id: string;
  /** Null until discovery learns the id of the agent with this handle from identity. */
  agentId: string | null;
  handle: string;
  agentVersion: string;
  source: (typeof INSTANCE_SOURCES)[number];
  runtimeId: string | null;
  inbox: string | null;
  endpoint: string | null;
  tier: InstanceRegistration['tier'];
  weight: number;
  ttlSeconds: number;
  concurrency: number;
  breakerPreset: BreakerPresetName;
  capabilities: { name: string; version: string }[];
  /** REMOVED: silent past the grace period; hidden from the API, deleted after the retention. */
  status: InstanceStatus;
  registeredAt: Date;
  lastHeartbeatAt: Date;
  expiresAt: Date;
  load: InstanceLoad;
  health: HealthSnapshot;
  breaker: BreakerSnapshot;
  /** Optimistic concurrency: heartbeats, outcomes and sweeps all read-modify-write an instance. */
  rev: number;
  appliedEventIds: string[];
  endedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const instanceSchema = new Schema<InstanceRecord>(
  {
    _id: String,
    agentId: { type: String, default: null },
    handle: { type: String, required: true },
    agentVersion: { type: String, required: true },
    source: { type: String, enum: INSTANCE_SOURCES, required: true },
    runtimeId: { type: String, default: null },
    inbox: { type: String, default: null },
    endpoint: { type: String, default: null },
    tier: { type: String, enum: AGENT_TIERS, required: true },
    weight: { type: Number, required: true },
    ttlSeconds: { type: Number, required: true },
    concurrency: { type: Number, required: true },
    breakerPreset: { type: String, enum: BREAKER_PRESET_NAMES, required: true },
    capabilities: {
      type: [new Schema({ name: String, version: String }, { _id: false })],
      default: [],
    },
    status: { type: String, enum: INSTANCE_STATUSES, required: true },
    registeredAt: { type: Date, required: true },
    lastHeartbeatAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    load: { type: Schema.Types.Mixed, required: true },
    health: { type: Schema.Types.Mixed, required: true },
    breaker: { type: Schema.Types.Mixed, required: true },
    rev: { type: Number, default: 0 },
    appliedEventIds: { type: [String], default: [] },
    endedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    ...outboxSchemaFields,
  },
  { collection: 'instances', minimize: false },
);
instanceSchema.index({ status: 1, 'capabilities.name': 1 });
instanceSchema.index({ agentId: 1, status: 1 });
instanceSchema.index({ handle: 1, agentId: 1 });
instanceSchema.index({ status: 1, expiresAt: 1 });
instanceSchema.index({ 'breaker.state': 1 });
outboxIndex(instanceSchema);

export type InstanceModel = Model<InstanceRecord>;
export const instanceModel = (connection: Connection): InstanceModel =>
  connection.model<InstanceRecord>('Instance', instanceSchema);
