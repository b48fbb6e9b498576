import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { OutboxDocument } from '@waooaw/shared';
import { appliedEventsSchemaFields, BUILD_STATUSES, outboxIndex, outboxSchemaFields } from '@waooaw/shared';

export interface ArtefactRecord {
  path: string;
  sha256: string;
  bytes: number;
  content: string;
}

export interface BuildRecord extends OutboxDocument {
  _id: string;
  handle: string;
  version: string;
  definitionId: string;
  status: (typeof BUILD_STATUSES)[number];
  artefacts: ArtefactRecord[];
  agentId: string | null;
  error: string | null;
  errorCode: string | null;
  requestedBy: string;
  /** The command that asked for the build (agent creates agent), echoed in its events. */
  requestId: string | null;
  activate: boolean;
  appliedEventIds: string[];
  createdAt: Date;
  completedAt: Date | null;
}

const buildSchema = new Schema<BuildRecord>(
  {
    _id: String,
    handle: { type: String, required: true },
    version: { type: String, required: true },
    definitionId: { type: String, required: true },
    status: { type: String, enum: BUILD_STATUSES, required: true },
    artefacts: {
      type: [
        new Schema<ArtefactRecord>(
          { path: String, sha256: String, bytes: Number, content: String },
          { _id: false },
        ),
      ],
      default: [],
    },
    agentId: { type: String, default: null },
    error: { type: String, default: null },
    errorCode: { type: String, default: null },
    requestedBy: { type: String, required: true },
    requestId: { type: String, default: null },
    activate: { type: Boolean, default: false },
    createdAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
    ...outboxSchemaFields,
    ...appliedEventsSchemaFields,
  },
  { collection: 'builds', minimize: false },
);
buildSchema.index({ createdAt: -1, _id: -1 });
buildSchema.index({ handle: 1, createdAt: -1 });
buildSchema.index({ definitionId: 1, createdAt: -1 });
outboxIndex(buildSchema);

export type BuildModel = Model<BuildRecord>;
export const buildModel = (connection: Connection): BuildModel =>
  connection.model<BuildRecord>('Build', buildSchema);
