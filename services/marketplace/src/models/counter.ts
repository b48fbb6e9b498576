import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import { isDuplicateKey } from '@waooaw/shared';

/**
 * A bounded counter of holders (`customer:<id>` trial slots, `agent:<id>` trial capacity). Taking a
 * slot is one conditional update (`count < limit` and not yet a holder: `$inc` + `$push`), so two
 * racing requests can never both take the last one; releasing only matches a holder, so releasing
 * twice changes nothing.
 */
export interface CounterRecord {
  _id: string;
  count: number;
  holders: string[];
}

const counterSchema = new Schema<CounterRecord>(
  {
    _id: String,
    count: { type: Number, default: 0 },
    holders: { type: [String], default: [] },
  },
  { collection: 'counters', minimize: false },
);
counterSchema.index({ count: 1 });

export type CounterModel = Model<CounterRecord>;
export const counterModel = (connection: Connection): CounterModel =>
  connection.model<CounterRecord>('Counter', counterSchema);

export const customerSlotKey = (customerId: string) => `customer:${customerId}`;
export const agentCapacityKey = (agentId: string) => `agent:${agentId}`;

/** Counter operations; `limit` is checked in the same update that takes the slot. */
export function createCounters(counters: CounterModel) {
  const holds = async (key: string, holder: string) =>
    (await counters.exists({ _id: key, holders: holder })) !== null;
  return {
    holds,
    /** Takes a slot for `holder` unless `limit` are taken; true when it holds one (now or before). */
    async acquire(key: string, holder: string, limit: number): Promise<boolean> {
      if (await holds(key, holder)) return true;
      try {
        const result = await counters.updateOne(
          { _id: key, count: { $lt: limit }, holders: { $ne: holder } },
          { $inc: { count: 1 }, $push: { holders: holder } },
          { upsert: true },
        );
        return result.modifiedCount + result.upsertedCount > 0 || (await holds(key, holder));
      } catch (err) {
        // The counter exists but is full (the upsert's insert clashed with its _id), or a racing
        // call of the same holder got in first.
        if (isDuplicateKey(err)) return holds(key, holder);
        throw err;
      }
    },
    /** Gives the holder's slot back; a no-op when it holds none. */
    async release(key: string, holder: string): Promise<void> {
      await counters.updateOne(
        { _id: key, holders: holder },
        { $inc: { count: -1 }, $pull: { holders: holder } },
      );
    },
    async holdersOf(key: string): Promise<string[]> {
      return (await counters.findById(key).lean<CounterRecord>())?.holders ?? [];
    },
  };
}
export type Counters = ReturnType<typeof createCounters>;
