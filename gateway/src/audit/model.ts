import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

export type AuditOutcome = 'PENDING' | 'SUCCEEDED' | 'FAILED';

/** One mutation field of one request: written PENDING before it runs, completed once answered. */
export interface AuditRecord {
  _id: string;
  at: Date;
  actor: string;
  roles: string[];
  operationName: string | null;
  /** The mutation field's name. */
  mutation: string;
  /** The key it answered under (its alias, or its name). */
  responseKey: string;
  /** Its arguments as resolved, redacted. */
  arguments: Record<string, unknown>;
  outcome: AuditOutcome;
  errorCodes: string[];
  requestId: string;
  /** When the outcome was recorded; null while PENDING. */
  completedAt: Date | null;
}

const auditSchema = new Schema<AuditRecord>(
  {
    _id: String,
    at: { type: Date, required: true },
    actor: { type: String, required: true },
    roles: { type: [String], default: [] },
    operationName: { type: String, default: null },
    mutation: { type: String, required: true },
    responseKey: { type: String, required: true },
    arguments: { type: Schema.Types.Mixed, default: {} },
    outcome: { type: String, enum: ['PENDING', 'SUCCEEDED', 'FAILED'], required: true },
    errorCodes: { type: [String], default: [] },
    requestId: { type: String, required: true },
    completedAt: { type: Date, default: null },
  },
  {
    collection: 'audit',
    minimize: false,
    // Durable before the mutation runs: acknowledged by a majority and on disk, not only in memory.
    writeConcern: { w: 'majority', j: true, wtimeout: 5_000 },
    // A database that is not connected fails the write at once (and the mutation is refused)
    // rather than holding the request for mongoose's 10 s buffer.
    bufferCommands: false,
  },
);
auditSchema.index({ at: -1, _id: -1 });
auditSchema.index({ actor: 1, at: -1 });
auditSchema.index({ mutation: 1, at: -1 });
auditSchema.index({ requestId: 1 });

export type AuditModel = Model<AuditRecord>;
export const auditModel = (connection: Connection): AuditModel =>
  connection.model<AuditRecord>('AuditEntry', auditSchema);
