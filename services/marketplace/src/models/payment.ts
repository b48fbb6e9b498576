import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

export const PAYMENT_STATUSES = ['SUCCEEDED', 'DECLINED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** A charge as the in-process payment provider recorded it (no card data: there is none to store). */
export interface PaymentRecord {
  _id: string;
  customerId: string;
  amountInr: number;
  description: string;
  /** Set on SUCCEEDED payments: the same key charged again returns this payment. */
  idempotencyKey: string;
  status: PaymentStatus;
  reason: string | null;
  createdAt: Date;
}

const paymentSchema = new Schema<PaymentRecord>(
  {
    _id: String,
    customerId: { type: String, required: true },
    amountInr: { type: Number, required: true },
    description: { type: String, required: true },
    idempotencyKey: { type: String, required: true },
    status: { type: String, enum: PAYMENT_STATUSES, required: true },
    reason: { type: String, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'payments', minimize: false },
);
paymentSchema.index({ customerId: 1, createdAt: -1 });
paymentSchema.index({ idempotencyKey: 1 });
// Revenue figures read the payments of a window (figures.ts).
paymentSchema.index({ createdAt: -1 });

export type PaymentModel = Model<PaymentRecord>;
export const paymentModel = (connection: Connection): PaymentModel =>
  connection.model<PaymentRecord>('Payment', paymentSchema);
