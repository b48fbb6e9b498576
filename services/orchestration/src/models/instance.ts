import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { InstanceView } from '@waooaw/shared';

/**
 * Orchestration's replica of discovery's registry (from `discovery.instance.changed`), kept in its
 * own database so a restart dispatches at once, without waiting to hear from every instance again.
 */
export interface InstanceReplicaRecord extends InstanceView {
  _id: string;
  /** Time of the event this state comes from: an older event never overwrites a newer one. */
  at: Date;
  /**
   * Deregistered or removed (a tombstone, not in the view). Kept rather than deleted because every
   * orchestration process writes this collection from its own reading of the topic, and one that
   * reads behind another (a process just started) would otherwise bring a gone instance back with
   * an older event; the tombstone's `at` refuses it. Pruned after TOMBSTONE_KEPT_MS.
   */
  gone: boolean;
}

const replicaSchema = new Schema<InstanceReplicaRecord>(
  {
    _id: String,
    instanceId: String,
    agentId: { type: String, default: null },
    handle: String,
    agentVersion: String,
    runtimeId: { type: String, default: null },
    inbox: { type: String, default: null },
    tier: String,
    weight: Number,
    concurrency: Number,
    capabilities: { type: [new Schema({ name: String, version: String }, { _id: false })], default: [] },
    health: String,
    circuit: String,
    inFlight: Number,
    at: Date,
    gone: { type: Boolean, default: false },
  },
  { collection: 'instances', minimize: false, versionKey: false },
);

export type InstanceReplicaModel = Model<InstanceReplicaRecord>;
export const instanceReplicaModel = (connection: Connection): InstanceReplicaModel =>
  connection.model<InstanceReplicaRecord>('InstanceReplica', replicaSchema);

/**
 * How far the replica above is applied: for a partition of `discovery.instance.changed`, an offset
 * such that every event before it is in the collection. A process that starts reads these, then the
 * collection, then the topic from these offsets: nothing in between is missed, and only the few
 * events since the last record are read again (their writes are idempotent).
 */
export interface ReplicaPositionRecord {
  /** `<topic>:<partition>` */
  _id: string;
  topic: string;
  partition: number;
  /** The next offset to read (Kafka's int64 offsets stay far below 2^53). */
  offset: number;
  at: Date;
}

const positionSchema = new Schema<ReplicaPositionRecord>(
  { _id: String, topic: String, partition: Number, offset: Number, at: Date },
  { collection: 'instance_positions', versionKey: false },
);

export type ReplicaPositionModel = Model<ReplicaPositionRecord>;
export const replicaPositionModel = (connection: Connection): ReplicaPositionModel =>
  connection.model<ReplicaPositionRecord>('InstanceReplicaPosition', positionSchema);
