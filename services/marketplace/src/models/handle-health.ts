import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { HealthState } from '@waooaw/shared';
import { HEALTH_STATES } from '@waooaw/shared';

/**
 * The latest health discovery reported for an agent handle. Discovery may report an instance before
 * identity has announced its agent (so before the listing exists, and with no agent id); the
 * listing takes its availability from here when its registration arrives.
 */
export interface HandleHealthRecord {
  _id: string;
  agentHealth: HealthState;
  at: Date;
}

const handleHealthSchema = new Schema<HandleHealthRecord>(
  {
    _id: String,
    agentHealth: { type: String, enum: HEALTH_STATES, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'handle_health' },
);

export type HandleHealthModel = Model<HandleHealthRecord>;
export const handleHealthModel = (connection: Connection): HandleHealthModel =>
  connection.model<HandleHealthRecord>('HandleHealth', handleHealthSchema);
