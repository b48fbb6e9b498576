import type { Model, UpdateQuery } from 'mongoose';

/** Add to a schema whose documents are changed by events, to remember which were applied. */
export const appliedEventsSchemaFields = {
  appliedEventIds: { type: [String], default: [] },
};

/** How many recent event ids a document remembers. Kafka re-delivers recent messages, not old ones. */
export const APPLIED_EVENTS_KEPT = 500;

/**
 * Applies an event's update to one document exactly once, even when Kafka delivers the event again:
 * the update only matches while the event id is not yet recorded, and records it in the same atomic
 * single-document write (no transaction needed). Returns whether the update was applied now.
 * With `upsert`, the first event about an entity may create its document.
 */
export async function applyOnce<T>(
  model: Model<T>,
  filter: Record<string, unknown>,
  eventId: string,
  update: UpdateQuery<T>,
  options: { upsert?: boolean } = {},
): Promise<boolean> {
  const push = { appliedEventIds: { $each: [eventId], $slice: -APPLIED_EVENTS_KEPT } };
  const fullUpdate = {
    ...update,
    $push: { ...(update.$push ?? {}), ...push },
  };
  try {
    const result = await model.updateOne({ ...filter, appliedEventIds: { $ne: eventId } }, fullUpdate, {
      upsert: options.upsert ?? false,
    });
    return result.modifiedCount + result.upsertedCount > 0;
  } catch (err) {
    // An upsert that raced with (or followed) the same event hits the unique _id: already applied.
    if (options.upsert && (err as { code?: unknown }).code === 11000) return false;
    throw err;
  }
}
