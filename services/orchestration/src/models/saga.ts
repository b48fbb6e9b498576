import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { SagaSnapshot } from '@waooaw/shared';
import type { SubmissionFields } from './submission';
import { submissionSchemaFields } from './submission';

export interface SagaStepRecord {
  name: string;
  action: Record<string, unknown>;
  compensation: Record<string, unknown> | null;
}

export interface SagaRecord extends SubmissionFields {
  _id: string;
  name: string;
  steps: SagaStepRecord[];
  /** The saga log and state (the shared saga machine), saved on every transition to resume after restarts. */
  snapshot: SagaSnapshot;
}

const sagaSchema = new Schema<SagaRecord>(
  {
    _id: String,
    name: { type: String, required: true },
    steps: { type: Schema.Types.Mixed, required: true },
    snapshot: { type: Schema.Types.Mixed, required: true },
    ...submissionSchemaFields,
  },
  { collection: 'sagas', minimize: false },
);
sagaSchema.index({ 'snapshot.state': 1 });

export type SagaModel = Model<SagaRecord>;
export const sagaModel = (connection: Connection): SagaModel =>
  connection.model<SagaRecord>('Saga', sagaSchema);

/** Task ids of a saga's steps: fixed, so a resumed saga finds the task it started instead of a new one. */
export const sagaTaskId = (sagaId: string, step: number, role: 'ACTION' | 'COMPENSATION') =>
  `${sagaId}.${role === 'ACTION' ? 'a' : 'c'}${step}`;
