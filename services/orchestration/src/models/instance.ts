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
  },
  { collection: 'instances', minimize: false },
);

export type InstanceReplicaModel = Model<InstanceReplicaRecord>;
export const instanceReplicaModel = (connection: Connection): InstanceReplicaModel =>
  connection.model<InstanceReplicaRecord>('InstanceReplica', replicaSchema);
