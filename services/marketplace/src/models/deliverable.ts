import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

/** What an agent delivered to a trial: kept forever, readable by its customer whatever the trial's state. */
export interface DeliverableRecord {
  /** Derived from the task id, so a task's output is stored once however often its event arrives. */
  _id: string;
  trialId: string;
  customerId: string;
  agentId: string;
  taskId: string;
  capability: string;
  title: string;
  content: string;
  format: string;
  summary: string;
  createdAt: Date;
}

const deliverableSchema = new Schema<DeliverableRecord>(
  {
    _id: String,
    trialId: { type: String, required: true },
    customerId: { type: String, required: true },
    agentId: { type: String, required: true },
    taskId: { type: String, required: true },
    capability: { type: String, required: true },
    title: { type: String, required: true },
    content: { type: String, default: '' },
    format: { type: String, required: true },
    summary: { type: String, default: '' },
    createdAt: { type: Date, required: true },
  },
  { collection: 'deliverables', minimize: false },
);
deliverableSchema.index({ customerId: 1, createdAt: -1, _id: -1 });
deliverableSchema.index({ trialId: 1, createdAt: -1, _id: -1 });
deliverableSchema.index({ createdAt: -1, _id: -1 });

export type DeliverableModel = Model<DeliverableRecord>;
export const deliverableModel = (connection: Connection): DeliverableModel =>
  connection.model<DeliverableRecord>('Deliverable', deliverableSchema);
