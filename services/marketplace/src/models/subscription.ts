import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { PlanRecord } from './listing';

export const SUBSCRIPTION_STATUSES = ['ACTIVE', 'CANCELLED'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** A paid monthly plan a trial converted into. */
export interface SubscriptionRecord {
  _id: string;
  customerId: string;
  agentId: string;
  /** One subscription per trial (unique): converting twice finds the first. */
  trialId: string;
  plan: PlanRecord;
  priceInr: number;
  status: SubscriptionStatus;
  startedAt: Date;
  renewsAt: Date;
  cancelledAt: Date | null;
  cancelReason: string | null;
  paymentId: string;
  createdAt: Date;
}

const subscriptionSchema = new Schema<SubscriptionRecord>(
  {
    _id: String,
    customerId: { type: String, required: true },
    agentId: { type: String, required: true },
    trialId: { type: String, required: true },
    plan: { type: Schema.Types.Mixed, required: true },
    priceInr: { type: Number, required: true },
    status: { type: String, enum: SUBSCRIPTION_STATUSES, required: true },
    startedAt: { type: Date, required: true },
    renewsAt: { type: Date, required: true },
    cancelledAt: { type: Date, default: null },
    cancelReason: { type: String, default: null },
    paymentId: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'subscriptions', minimize: false },
);
subscriptionSchema.index({ trialId: 1 }, { unique: true });
subscriptionSchema.index({ customerId: 1, createdAt: -1, _id: -1 });
subscriptionSchema.index({ agentId: 1, status: 1 });
subscriptionSchema.index({ customerId: 1, agentId: 1 });
subscriptionSchema.index({ createdAt: -1, _id: -1 });
// Revenue figures join a payment to the subscription it paid for (figures.ts).
subscriptionSchema.index({ paymentId: 1 });

export type SubscriptionModel = Model<SubscriptionRecord>;
export const subscriptionModel = (connection: Connection): SubscriptionModel =>
  connection.model<SubscriptionRecord>('Subscription', subscriptionSchema);
