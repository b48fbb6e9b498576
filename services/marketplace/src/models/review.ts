import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

/** One customer's review of one agent: `_id` is `<agentId>|<customerId>`, so rating again replaces it. */
export interface ReviewRecord {
  _id: string;
  agentId: string;
  customerId: string;
  stars: number;
  comment: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const reviewSchema = new Schema<ReviewRecord>(
  {
    _id: String,
    agentId: { type: String, required: true },
    customerId: { type: String, required: true },
    stars: { type: Number, required: true, min: 1, max: 5 },
    comment: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'reviews', minimize: false },
);
reviewSchema.index({ agentId: 1, updatedAt: -1 });

export const reviewId = (agentId: string, customerId: string) => `${agentId}|${customerId}`;

export type ReviewModel = Model<ReviewRecord>;
export const reviewModel = (connection: Connection): ReviewModel =>
  connection.model<ReviewRecord>('Review', reviewSchema);
