import type { Model, mongo, UpdateQuery } from 'mongoose';
import { isDuplicateKey } from '../errors';

/** Add to a schema whose documents are changed by events, to remember which were applied. */
export const appliedEventsSchemaFields = {
  appliedEventIds: { type: [String], default: [] },
};

/**
 * How many recent event ids a document remembers, to apply each event once. Kafka delivers a
 * message again only when a consumer handled it but had not committed its offset yet when it stopped
 * or lost its partition, and our consumers commit every 1000 messages or every second
 * (kafka/consumer.ts). So a document needs to remember only the events about it in that window:
 * 500 of them within about a second is more than any document here receives (a task gets one result
 * per attempt, at most 10; tickets, agents and listings a few events per change someone makes), and
 * 500 ids (some 20 KB) stay far below MongoDB's document limit. Discovery's instances keep fewer, for
 * the reason given at INSTANCE_APPLIED_KEPT.
 */
export const APPLIED_EVENTS_KEPT = 500;

/**
 * Applies an event's update to one document exactly once, even when Kafka delivers the event again:
 * the update only matches while the event id is not yet recorded, and records it in the same atomic
 * single-document write (no transaction needed). Returns whether the update was applied now.
 * With `upsert`, the first event about an entity may create its document.
 *
 * Given several event ids, `update` is their combined effect (a group commit of events that arrived
 * together): it is applied only if none of them was applied yet, and all are recorded. When that
 * returns false because one of them already was, the caller applies them one by one instead.
 */
export async function applyOnce<T>(
  model: Model<T>,
  filter: Record<string, unknown>,
  eventId: string | readonly string[],
  update: UpdateQuery<T>,
  options: { upsert?: boolean } = {},
): Promise<boolean> {
  const ids = typeof eventId === 'string' ? [eventId] : [...eventId];
  const push = { appliedEventIds: { $each: ids, $slice: -APPLIED_EVENTS_KEPT } };
  const fullUpdate = {
    ...update,
    $push: { ...(update.$push ?? {}), ...push },
  };
  const notYet = ids.length === 1 ? { $ne: ids[0] } : { $nin: ids };
  try {
    const result = await model.updateOne({ ...filter, appliedEventIds: notYet }, fullUpdate, {
      upsert: options.upsert ?? false,
    });
    return result.modifiedCount + result.upsertedCount > 0;
  } catch (err) {
    // An upsert that raced with (or followed) the same event hits the unique _id: already applied.
    if (options.upsert && isDuplicateKey(err)) return false;
    throw err;
  }
}

/**
 * A conditional single-document update (`_id` plus a revision, a timestamp, an event id not yet
 * applied ...) through the driver, without mongoose's casting; returns whether a document matched
 * (or was inserted, with `upsert`).
 */
export async function updateIfMatches<T extends { _id: unknown }>(
  collection: mongo.Collection<T>,
  filter: mongo.Filter<T>,
  update: mongo.UpdateFilter<T>,
  options: { upsert?: boolean } = {},
): Promise<boolean> {
  const result = await collection.updateOne(filter, update, { upsert: options.upsert ?? false });
  return result.matchedCount + result.upsertedCount > 0;
}
