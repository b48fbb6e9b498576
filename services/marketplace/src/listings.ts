import DataLoader from 'dataloader';
import semver from 'semver';
import type {
  Envelope,
  EventBus,
  EventData,
  Logger,
  OutboxRelay,
  discoveryEvents,
  identityEvents,
  orchestrationEvents,
} from '@waooaw/shared';
import {
  applyOnce,
  APPLIED_EVENTS_KEPT,
  isDuplicateKey,
  orchestrationCommands,
  outboxEntry,
  TRIAL_FIRST_DELIVERABLE,
} from '@waooaw/shared';
import type { ActivityLog } from './activity';
import {
  demoBusinessFor,
  isAvailable,
  listingFieldsFromRegistration,
  MAX_SAMPLE_ATTEMPTS,
  sampleTaskId,
  searchTextOf,
} from './domain/listing';
import type { HandleHealthModel, HandleHealthRecord } from './models/handle-health';
import type { ListingModel, ListingRecord } from './models/listing';
import type { ReviewModel } from './models/review';
import type { SubscriptionModel } from './models/subscription';
import type { TrialModel } from './models/trial';

type Registered = EventData<typeof identityEvents.agentRegistered>;
type LifecycleChanged = EventData<typeof identityEvents.agentLifecycleChanged>;
type CapabilitiesChanged = EventData<typeof identityEvents.agentCapabilitiesChanged>;
type HealthChanged = EventData<typeof discoveryEvents.healthChanged>;
type TaskUpdated = EventData<typeof orchestrationEvents.taskUpdated>;

/** A listing's response-time count and sum (the average is sum / count). */
interface ResponseFigures {
  count: number;
  sum: number;
}

/** A finished task's figures for its agent's listing (see recordTaskOutcome). */
interface TaskOutcome {
  filter: Record<string, unknown>;
  /** Outcomes with the same key are written together. */
  listingKey: string;
  eventId: string;
  completed: boolean;
  durationMs: number | null;
}

/** Is the listing one anyone may browse (registered, ACTIVE, announced)? */
export const isListed = (l: Pick<ListingRecord, 'registered' | 'status' | 'listedAt'>) =>
  l.registered && l.status === 'ACTIVE' && l.listedAt !== null;

/**
 * The listings, projected from the other services' events, and the figures kept on them (ratings,
 * trial and subscription counts, response times). Every handler is idempotent: Kafka delivers at
 * least once, and events of different topics arrive in any order.
 */
export function createListings(deps: {
  listings: ListingModel;
  handleHealth: HandleHealthModel;
  trials: TrialModel;
  subscriptions: SubscriptionModel;
  reviews: ReviewModel;
  activity: ActivityLog;
  bus: Pick<EventBus, 'source'>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  clock: () => Date;
}) {
  const { listings, activity, logger } = deps;

  /** Makes the document of an agent the marketplace hears of before its registration (a placeholder). */
  async function ensureDocument(agentId: string, set: Partial<ListingRecord>) {
    try {
      await listings.updateOne({ _id: agentId }, { $setOnInsert: set }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  /** Lifecycle status, ordered by the time of the event that set it. */
  async function setStatus(agentId: string, status: ListingRecord['status'], at: Date, eventId: string) {
    await applyOnce(
      listings,
      { _id: agentId, $or: [{ statusAt: null }, { statusAt: { $lte: at } }] },
      eventId,
      { $set: { status, statusAt: at } },
    );
  }

  /**
   * Once a registered listing is ACTIVE: mark when it was first listed, announce it (AGENT_JOINED)
   * and have its sample deliverable made. Each part is idempotent, so it runs on every change.
   */
  async function ensureListed(agentId: string) {
    let listing = await listings.findById(agentId).lean<ListingRecord>();
    if (!listing?.registered || listing.status !== 'ACTIVE') return;
    if (!listing.listedAt) {
      listing =
        (await listings
          .findOneAndUpdate(
            { _id: agentId, listedAt: null },
            { $set: { listedAt: deps.clock() } },
            { new: true },
          )
          .lean<ListingRecord>()) ?? (await listings.findById(agentId).lean<ListingRecord>());
      if (!listing) return;
    }
    if (listing.sampleTaskId || listing.sampleDeliverables.length > 0) return;
    await activity.record({
      id: `agent-joined:${agentId}`,
      kind: 'AGENT_JOINED',
      message: `${listing.name} joined the marketplace: ${listing.headline}`,
      agentId,
      handle: listing.handle,
      category: listing.category,
    });
    if (!listing.version || !listing.capabilityNames.includes(TRIAL_FIRST_DELIVERABLE)) return;
    // Only once an instance can run it: a task asked for before the runtime registers is rejected.
    if (!listing.availableNow || listing.sampleFailures >= MAX_SAMPLE_ATTEMPTS) return;
    const taskId = sampleTaskId(agentId, listing.version, listing.sampleFailures);
    const command = outboxEntry(
      deps.bus,
      orchestrationCommands.submitTask,
      {
        taskId,
        actor: 'marketplace',
        customerId: null,
        spec: {
          capability: TRIAL_FIRST_DELIVERABLE,
          agentHandle: listing.handle,
          input: { businessContext: demoBusinessFor(listing.industries) },
          priority: 'LOW',
        },
      },
      { subject: taskId },
    );
    const result = await listings.updateOne(
      { _id: agentId, sampleTaskId: null },
      { $set: { sampleTaskId: taskId }, $push: { outbox: command } },
    );
    if (result.modifiedCount > 0) {
      logger.info({ agentId, taskId }, 'sample deliverable requested');
      deps.relay.kick();
    }
  }

  async function onRegistered(data: Registered, envelope: Envelope) {
    if (data.kind !== 'CUSTOMER') {
      // Platform agents are not listed; drop a placeholder a health event may have made.
      await listings.deleteOne({ _id: data.agentId, registered: false });
      return;
    }
    const fields = listingFieldsFromRegistration(data);
    // Descriptive fields follow the highest version (read, compare, write only if unchanged).
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await listings
        .findById(data.agentId, { version: 1, registered: 1 })
        .lean<Pick<ListingRecord, '_id' | 'version' | 'registered'>>();
      if (!current) {
        try {
          await listings.create({ _id: data.agentId, ...fields });
          break;
        } catch (err) {
          if (isDuplicateKey(err)) continue;
          throw err;
        }
      }
      if (current.registered && current.version && semver.lt(data.version, current.version)) break;
      const result = await listings.updateOne(
        { _id: data.agentId, registered: current.registered, version: current.version },
        { $set: fields },
      );
      if (result.matchedCount > 0) break;
    }
    await setStatus(data.agentId, data.status, new Date(envelope.time), envelope.id);
    // Discovery may have reported the agent's instances before this registration reached us.
    const known = await deps.handleHealth.findById(data.handle).lean<HandleHealthRecord>();
    if (known)
      await listings.updateOne(
        { _id: data.agentId, $or: [{ healthAt: null }, { healthAt: { $lt: known.at } }] },
        {
          $set: {
            health: known.agentHealth,
            healthAt: known.at,
            availableNow: isAvailable(known.agentHealth),
          },
        },
      );
    await ensureListed(data.agentId);
  }

  async function onLifecycleChanged(data: LifecycleChanged, envelope: Envelope) {
    if (data.kind !== 'CUSTOMER') return;
    await ensureDocument(data.agentId, { handle: data.handle, category: data.category });
    await setStatus(data.agentId, data.to, new Date(data.at), envelope.id);
    await ensureListed(data.agentId);
  }

  async function onCapabilitiesChanged(data: CapabilitiesChanged) {
    const current = await listings.findById(data.agentId).lean<ListingRecord>();
    if (!current?.registered || (current.version && semver.lt(data.version, current.version))) return;
    const capabilityNames = data.capabilities.map((c) => c.name);
    await listings.updateOne(
      { _id: data.agentId, version: current.version },
      {
        $set: {
          version: data.version,
          capabilities: data.capabilities.map((c) => ({ name: c.name, version: c.version })),
          capabilityNames,
          searchText: searchTextOf({ ...current, capabilityNames }),
        },
      },
    );
  }

  async function onHealthChanged(data: HealthChanged, envelope: Envelope) {
    // Remembered by handle too, for a listing whose registration has not arrived yet.
    await deps.handleHealth
      .updateOne(
        { _id: data.handle, $or: [{ at: { $lte: new Date(data.at) } }, { at: { $exists: false } }] },
        { $set: { agentHealth: data.agentHealth, at: new Date(data.at) } },
        { upsert: true },
      )
      .catch((err: unknown) => {
        // A newer report is there already (the upsert lost the race to it): keep the newer one.
        if (!isDuplicateKey(err)) throw err;
      });
    let agentId = data.agentId;
    if (agentId) {
      await ensureDocument(agentId, { handle: data.handle });
    } else {
      // An instance discovery has not linked to its agent yet: match the listing by handle.
      const byHandle = await listings.findOne({ handle: data.handle, registered: true }, { _id: 1 }).lean();
      if (!byHandle) return;
      agentId = byHandle._id;
    }
    const at = new Date(data.at);
    const available = isAvailable(data.agentHealth);
    const before = await listings
      .findOneAndUpdate(
        {
          _id: agentId,
          appliedEventIds: { $ne: envelope.id },
          $or: [{ healthAt: null }, { healthAt: { $lte: at } }],
        },
        {
          $set: { health: data.agentHealth, healthAt: at, availableNow: available },
          $push: { appliedEventIds: { $each: [envelope.id], $slice: -APPLIED_EVENTS_KEPT } },
        },
        { returnDocument: 'before' },
      )
      .lean<ListingRecord>();
    if (available) await ensureListed(agentId);
    if (before && before.availableNow && !available && isListed(before)) {
      await activity.record({
        id: `agent-unavailable:${envelope.id}`,
        kind: 'AGENT_UNAVAILABLE',
        message: `${before.name} is unavailable for now (${data.agentHealth.toLowerCase()}); new work waits until it is back`,
        agentId,
        handle: before.handle,
        category: before.category,
      });
    }
  }

  /**
   * Keeps the average response time equal to sum / count (a recompute lands only if nothing moved).
   * Answers the figures it read, or null when the listing is gone or its recompute lost to another.
   */
  async function refreshResponse(filter: Record<string, unknown>): Promise<ResponseFigures | null> {
    const l = await listings
      .findOne(filter, { responseCount: 1, responseSumMs: 1, averageResponseMs: 1 })
      .lean<Pick<ListingRecord, '_id' | 'responseCount' | 'responseSumMs' | 'averageResponseMs'>>();
    if (!l) return null;
    const figures = { count: l.responseCount, sum: l.responseSumMs };
    if (l.responseCount === 0) return figures;
    const average = l.responseSumMs / l.responseCount;
    if (l.averageResponseMs === average) return figures;
    const set = await listings.updateOne(
      { _id: l._id, responseCount: l.responseCount, responseSumMs: l.responseSumMs },
      { $set: { averageResponseMs: average, sortResponse: average } },
    );
    return set.matchedCount > 0 ? figures : null;
  }

  /**
   * Each listing's response figures as this process last wrote or read them. The next outcomes of the
   * listing are written guarded by them, with the new average in the same update: one command per
   * listing per batch instead of an increment, a read and a recompute. When another process moved
   * the figures (or an outcome was applied before), the guard misses and the three-step path runs.
   */
  const knownResponse = new Map<string, ResponseFigures>();

  /** The outcomes in one write guarded by the known figures; false when the guard missed. */
  async function applyOnKnown(group: readonly TaskOutcome[], known: ResponseFigures): Promise<boolean> {
    const { filter, listingKey } = group[0]!;
    const update = outcomeUpdate(group);
    const count = known.count + (update.$inc.responseCount ?? 0);
    const sum = known.sum + (update.$inc.responseSumMs ?? 0);
    const average = count > 0 ? sum / count : null;
    const applied = await applyOnce(
      listings,
      { ...filter, responseCount: known.count, responseSumMs: known.sum },
      group.map((o) => o.eventId),
      average === null ? update : { ...update, $set: { averageResponseMs: average, sortResponse: average } },
    );
    if (applied) knownResponse.set(listingKey, { count, sum });
    else knownResponse.delete(listingKey);
    return applied;
  }

  /**
   * Finished tasks' figures, written per listing: the outcomes handled at the same time (a fetched
   * batch's messages run side by side) become one conditional write per listing and one recompute of
   * its average, instead of three database round trips for every task.
   */
  const outcomeWriter = new DataLoader<TaskOutcome, void>(
    async (outcomes) => {
      const groups = new Map<string, TaskOutcome[]>();
      for (const o of outcomes) {
        const group = groups.get(o.listingKey);
        if (group) group.push(o);
        else groups.set(o.listingKey, [o]);
      }
      const failed = new Map<TaskOutcome, Error>();
      await Promise.all(
        [...groups.values()].map((group) =>
          applyOutcomes(group).catch((err: unknown) => {
            const error = err instanceof Error ? err : new Error(String(err));
            for (const o of group) failed.set(o, error);
          }),
        ),
      );
      return outcomes.map((o) => failed.get(o));
    },
    // Outcomes of one listing that arrive while its write is being prepared join it; no cache (every
    // event is written, a redelivered one is refused by its id).
    { cache: false, batchScheduleFn: (run) => setImmediate(run) },
  );

  const outcomeUpdate = (group: readonly TaskOutcome[]) => {
    const inc: Record<string, number> = {};
    const add = (field: string, n: number) => (inc[field] = (inc[field] ?? 0) + n);
    for (const o of group) {
      add(o.completed ? 'completedTasks' : 'failedTasks', 1);
      if (o.durationMs !== null) {
        add('responseCount', 1);
        add('responseSumMs', o.durationMs);
      }
    }
    return { $inc: inc };
  };

  /** The write of one listing in flight, by listing key (see applyOutcomes). */
  const writingListing = new Map<string, Promise<void>>();

  /**
   * One listing's outcomes: in one write guarded by the figures this process knows, else all in one
   * write (or, if one of them was applied before, one by one) and the average recomputed after.
   */
  async function applyOutcomes(group: readonly TaskOutcome[]) {
    // Batches of different partitions run side by side: one listing's writes go one after the other,
    // so each is guarded by the figures the one before it wrote rather than missing against them.
    const key = group[0]!.listingKey;
    const before = writingListing.get(key);
    const run = (before ?? Promise.resolve()).catch(() => undefined).then(() => applyListingOutcomes(group));
    writingListing.set(key, run);
    try {
      await run;
    } finally {
      if (writingListing.get(key) === run) writingListing.delete(key);
    }
  }

  async function applyListingOutcomes(group: readonly TaskOutcome[]) {
    const byEvent = new Map(group.map((o) => [o.eventId, o]));
    const unique = [...byEvent.values()];
    const { filter, listingKey } = unique[0]!;
    const known = knownResponse.get(listingKey);
    if (known && (await applyOnKnown(unique, known))) return;
    if (
      unique.length === 1 ||
      !(await applyOnce(listings, filter, [...byEvent.keys()], outcomeUpdate(unique)))
    ) {
      for (const o of unique) await applyOnce(listings, filter, o.eventId, outcomeUpdate([o]));
    }
    const figures = await refreshResponse(filter);
    if (figures) knownResponse.set(listingKey, figures);
  }

  /** A finished task of an agent: its response time and task counts (once per event). */
  async function recordTaskOutcome(data: TaskUpdated, envelope: Envelope) {
    if (data.status !== 'COMPLETED' && data.status !== 'FAILED') return;
    const filter = data.agentId
      ? { _id: data.agentId }
      : data.agentHandle
        ? { handle: data.agentHandle, registered: true }
        : null;
    if (!filter) return;
    const durationMs = typeof data.durationMs === 'number' && data.durationMs >= 0 ? data.durationMs : null;
    await outcomeWriter.load({
      filter,
      listingKey: data.agentId ? `id:${data.agentId}` : `handle:${data.agentHandle}`,
      eventId: envelope.id,
      completed: data.status === 'COMPLETED',
      durationMs,
    });
  }

  /** The sample task's output becomes the listing's sample deliverable. */
  async function recordSample(data: TaskUpdated) {
    if (data.status === 'COMPLETED' && data.output) {
      await listings.updateOne(
        { sampleTaskId: data.taskId, 'sampleDeliverables.0': { $exists: false } },
        {
          $set: {
            sampleDeliverables: [{ taskId: data.taskId, ...data.output, createdAt: new Date(data.at) }],
          },
        },
      );
    } else if (data.status === 'FAILED' || data.status === 'REJECTED') {
      logger.warn({ taskId: data.taskId, error: data.error }, 'the sample deliverable failed; trying again');
      const failed = await listings
        .findOneAndUpdate(
          { sampleTaskId: data.taskId, 'sampleDeliverables.0': { $exists: false } },
          { $set: { sampleTaskId: null }, $inc: { sampleFailures: 1 } },
          { new: true, projection: { _id: 1 } },
        )
        .lean<Pick<ListingRecord, '_id'>>();
      if (failed) await ensureListed(failed._id);
    }
  }

  /**
   * Recomputes a listing's trial and subscription figures from the records. Each recompute takes a
   * sequence number first and lands only if no later one has: concurrent recomputes cannot leave an
   * older result behind, and a recompute missed after a crash is made good by the next one.
   */
  async function refreshStats(agentId: string) {
    const ticket = await listings
      .findOneAndUpdate(
        { _id: agentId },
        { $inc: { statsSeq: 1 } },
        { new: true, projection: { statsSeq: 1 } },
      )
      .lean<Pick<ListingRecord, 'statsSeq'>>();
    if (!ticket) return;
    const [trialsStarted, trialsConverted, subscriptions, activeSubscriptions] = await Promise.all([
      deps.trials.countDocuments({ agentId, 'activation.state': 'COMPLETED' }),
      deps.trials.countDocuments({ agentId, status: 'CONVERTED' }),
      deps.subscriptions.countDocuments({ agentId }),
      deps.subscriptions.countDocuments({ agentId, status: 'ACTIVE' }),
    ]);
    await listings.updateOne(
      { _id: agentId, statsAppliedSeq: { $lt: ticket.statsSeq } },
      {
        $set: {
          stats: { trialsStarted, trialsConverted, subscriptions, activeSubscriptions },
          popularity: trialsStarted + subscriptions,
          statsAppliedSeq: ticket.statsSeq,
        },
      },
    );
  }

  /** Recomputes the rating from the reviews ($group), with the same sequence guard as refreshStats. */
  async function refreshRating(agentId: string) {
    const ticket = await listings
      .findOneAndUpdate(
        { _id: agentId },
        { $inc: { ratingSeq: 1 } },
        { new: true, projection: { ratingSeq: 1 } },
      )
      .lean<Pick<ListingRecord, 'ratingSeq'>>();
    if (!ticket) return;
    const [group] = await deps.reviews.aggregate<{ total: number; count: number }>([
      { $match: { agentId } },
      { $group: { _id: '$agentId', total: { $sum: '$stars' }, count: { $sum: 1 } } },
    ]);
    const count = group?.count ?? 0;
    const average = count > 0 ? group!.total / count : null;
    await listings.updateOne(
      { _id: agentId, ratingAppliedSeq: { $lt: ticket.ratingSeq } },
      { $set: { rating: { average, count }, sortRating: average ?? 0, ratingAppliedSeq: ticket.ratingSeq } },
    );
  }

  return {
    onRegistered,
    onLifecycleChanged,
    onCapabilitiesChanged,
    onHealthChanged,
    recordTaskOutcome,
    recordSample,
    ensureListed,
    refreshStats,
    refreshRating,
  };
}
export type Listings = ReturnType<typeof createListings>;
