import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { OutboxDocument } from '@waooaw/shared';
import { outboxIndex, outboxSchemaFields, revisionIndex } from '@waooaw/shared';
import type { FailurePolicy, NodeState } from '../domain';

export interface WorkflowNodeRecord {
  id: string;
  /** The task spec as submitted (capability, versionRange, input, priority, timeoutMs, retryPolicy). */
  spec: Record<string, unknown>;
  capability: string;
  dependsOn: string[];
  status: NodeState;
  taskId: string | null;
}

export type WorkflowStatus = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED';

export interface WorkflowRecord extends OutboxDocument {
  _id: string;
  name: string;
  status: WorkflowStatus;
  failurePolicy: FailurePolicy;
  nodes: WorkflowNodeRecord[];
  customerId: string | null;
  submittedBy: string;
  roles: string[];
  rev: number;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

const workflowSchema = new Schema<WorkflowRecord>(
  {
    _id: String,
    name: { type: String, required: true },
    status: { type: String, required: true },
    failurePolicy: { type: String, required: true },
    nodes: { type: Schema.Types.Mixed, required: true },
    customerId: { type: String, default: null },
    submittedBy: { type: String, required: true },
    roles: { type: [String], default: [] },
    rev: { type: Number, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
    ...outboxSchemaFields,
  },
  { collection: 'workflows', minimize: false },
);
workflowSchema.index({ status: 1 });
// The per-customer quota counts a customer's running workflows (quota.ts).
workflowSchema.index({ customerId: 1, status: 1 });
revisionIndex(workflowSchema);
outboxIndex(workflowSchema);

export type WorkflowModel = Model<WorkflowRecord>;
export const workflowModel = (connection: Connection): WorkflowModel =>
  connection.model<WorkflowRecord>('Workflow', workflowSchema);
