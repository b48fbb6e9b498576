import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

export interface AuditRecord {
  _id: string;
  at: Date;
  actor: string;
  roles: string[];
  operationName: string | null;
  mutations: string[];
  variables: Record<string, unknown>;
  outcome: 'SUCCEEDED' | 'FAILED';
  errorCodes: string[];
  requestId: string;
}

const auditSchema = new Schema<AuditRecord>(
  {
    _id: String,
    at: { type: Date, required: true },
    actor: { type: String, required: true },
    roles: { type: [String], default: [] },
    operationName: { type: String, default: null },
    mutations: { type: [String], default: [] },
    variables: { type: Schema.Types.Mixed, default: {} },
    outcome: { type: String, enum: ['SUCCEEDED', 'FAILED'], required: true },
    errorCodes: { type: [String], default: [] },
    requestId: { type: String, required: true },
  },
  { collection: 'audit', minimize: false },
);
auditSchema.index({ at: -1, _id: -1 });
auditSchema.index({ actor: 1, at: -1 });
auditSchema.index({ mutations: 1, at: -1 });

export type AuditModel = Model<AuditRecord>;
export const auditModel = (connection: Connection): AuditModel =>
  connection.model<AuditRecord>('AuditEntry', auditSchema);
