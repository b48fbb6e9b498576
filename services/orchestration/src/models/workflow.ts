import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { OutboxDocument } from '@waooaw/shared';
import { outboxIndex, outboxSchemaFields } from '@waooaw/shared';
import type { FailurePolicy, NodeState } from '../domain';
import type { SubmissionFields } from './submission';
import { submissionSchemaFields } from './submission';

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

export interface WorkflowRecord extends OutboxDocument, SubmissionFields {
  _id: string;
  name: string;
  status: WorkflowStatus;
  failurePolicy: FailurePolicy;
  nodes: WorkflowNodeRecord[];
}

const workflowSchema = new Schema<WorkflowRecord>(
  {
    _id: String,
    name: { type: String, required: true },
    status: { type: String, required: true },
    failurePolicy: { type: String, required: true },
    nodes: { type: Schema.Types.Mixed, required: true },
    ...submissionSchemaFields,
    ...outboxSchemaFields,
  },
  { collection: 'workflows', minimize: false },
);
workflowSchema.index({ status: 1 });
// The per-customer quota counts a customer's running workflows (quota.ts).
workflowSchema.index({ customerId: 1, status: 1 });
outboxIndex(workflowSchema);

export type WorkflowModel = Model<WorkflowRecord>;
export const workflowModel = (connection: Connection): WorkflowModel =>
  connection.model<WorkflowRecord>('Workflow', workflowSchema);
