import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { CircuitState } from '@waooaw/shared';
import { CIRCUIT_STATES } from '@waooaw/shared';

/**
 * One time a circuit breaker opened, kept for the agents' performance figures. Instance documents
 * cannot keep them: a breaker snapshot is replaced whole on every transition, and instances are
 * deleted a few hours after they leave, while the figures look back up to a year. `_id` is the id of
 * the discovery.circuit.changed event it was projected from, so a redelivery records it once.
 */
export interface BreakerTripRecord {
  _id: string;
  instanceId: string;
  /** Null when neither the event nor the agent replica knew the agent's id for the handle yet. */
  agentId: string | null;
  handle: string;
  from: CircuitState;
  reason: string;
  at: Date;
}

const breakerTripSchema = new Schema<BreakerTripRecord>(
  {
    _id: String,
    instanceId: { type: String, required: true },
    agentId: { type: String, default: null },
    handle: { type: String, required: true },
    from: { type: String, enum: CIRCUIT_STATES, required: true },
    reason: { type: String, default: '' },
    at: { type: Date, required: true },
  },
  { collection: 'breaker_trips', minimize: false },
);
breakerTripSchema.index({ agentId: 1, at: 1 });
breakerTripSchema.index({ handle: 1, at: 1 });
breakerTripSchema.index({ at: 1 });

export type BreakerTripModel = Model<BreakerTripRecord>;
export const breakerTripModel = (connection: Connection): BreakerTripModel =>
  connection.model<BreakerTripRecord>('BreakerTrip', breakerTripSchema);
