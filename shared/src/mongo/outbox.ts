import { randomUUID } from 'node:crypto';
import type { Model, mongo } from 'mongoose';
import { Schema } from 'mongoose';
import { z } from 'zod';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { EventBus } from '../kafka/bus';
import { envelopeMessage, messageBytes } from '../kafka/bus';
import type { Envelope } from '../kafka/envelope';
import { createEnvelope } from '../kafka/envelope';
import type { EventDefinition, EventInput } from '../kafka/events';
import { defineEvent } from '../kafka/events';
import type { PermanentPublishReason } from '../kafka/publish-errors';
import { permanentPublishReason, PublishRejectedError } from '../kafka/publish-errors';
import { KAFKA_MAX_MESSAGE_BYTES } from '../limits';

/** A pending event stored inside the document whose change it announces. */
export interface OutboxEntry {
  /** The envelope's id, kept beside it so the relay can remove exactly what it published. */
  id: string;
  topic: string;
  key: string;
  envelope: Envelope;
}

/** Add to a mongoose schema whose documents publish events through the outbox. */
export const outboxSchemaFields = {
  outbox: {
    type: [
      // minimize: false, or mongoose drops empty objects inside the envelope ({} in event data).
      new Schema<OutboxEntry>(
        { id: String, topic: String, key: String, envelope: Schema.Types.Mixed },
        { _id: false, minimize: false },
      ),
    ],
    default: [],
  },
  outboxLockedUntil: { type: Date, default: null },
  // Absent (not []) until something is parked: documents without poison carry nothing extra.
  outboxParked: { type: [Schema.Types.Mixed], default: undefined },
};

/**
 * An outbox entry that can never be published (see createOutboxRelay), kept with why. It is moved
 * out of `outbox` into `outboxParked` of the same document, not into a collection of its own: a
 * single-document update is atomic, so the entry is never both pending and parked, nor neither,
 * whatever crashes; an operator finds them with `{ 'outboxParked.0': { $exists: true } }`.
 */
export interface ParkedOutboxEntry {
  entry: OutboxEntry;
  reason: PermanentPublishReason;
  error: string;
  at: Date;
}

/**
 * The record of a gap: published on the parked event's topic, with its key, in its place among the
 * document's events, so whoever reads the topic sees that an event is missing and why. Consumers and
 * subscriptions dispatch on the type and skip it.
 */
export const outboxParkedEvent = defineEvent(
  'platform.outbox.parked',
  z.object({
    /** The parked event's id, type and subject. */
    eventId: z.string(),
    eventType: z.string(),
    subject: z.string().optional(),
    reason: z.enum(['too-large', 'unserialisable', 'rejected']),
    error: z.string(),
    /** The collection and document whose outbox held it (where the parked entry now is). */
    collection: z.string(),
    documentId: z.string(),
  }),
);

/**
 * Declares the index the relay's scan looks documents with pending events up by: the entries' ids.
 * Indexing `outbox.0` instead (the first entry) made every key a whole envelope: the server builds,
 * normalises and compares that nested document for every write of the document (twice, old and new),
 * which on mongo-java-server was the largest cost of a task write. An id is a short string, and a
 * document with an empty outbox has no key.
 */
export function outboxIndex(schema: Schema): void {
  schema.index({ 'outbox.id': 1 });
}

export interface OutboxDocument {
  outbox: OutboxEntry[];
  outboxLockedUntil: Date | null;
  outboxParked?: ParkedOutboxEntry[];
}

/**
 * Builds the pending event to write in the same update as the state change (`$push: { outbox }`).
 * The envelope (and so its id) is fixed now, so a re-publish after a crash carries the same id and
 * consumers drop the duplicate.
 */
export function outboxEntry<D extends EventDefinition>(
  bus: Pick<EventBus, 'source'>,
  definition: D,
  data: EventInput<D>,
  options: { subject: string; key?: string; traceparent?: string },
): OutboxEntry {
  const envelope = createEnvelope(definition, data, { ...options, source: bus.source, id: randomUUID() });
  return { id: envelope.id, topic: definition.topic, key: options.key ?? options.subject, envelope };
}

/** How long a relay (or a writer publishing its own entries) owns a document's outbox by default. */
export const OUTBOX_LOCK_MS = 30_000;

/**
 * The `outboxLockedUntil` a writer sets in the same update that pushes outbox entries it will hand to
 * `relay.publishWritten()`: the scanning pass leaves the document alone meanwhile, so the entries are
 * normally published once, by the writer's own process (within milliseconds), and after a crash by
 * the scan once the claim expires. Short, so a restarted process does not wait long for its own.
 */
export const outboxClaim = (now = Date.now(), claimMs = OUTBOX_CLAIM_MS) => new Date(now + claimMs);

/** How long a writer's claim on its own entries lasts (see outboxClaim). */
export const OUTBOX_CLAIM_MS = 5_000;

export interface OutboxRelayOptions {
  // The relay only touches the outbox fields, whatever else the documents hold.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- models of any document shape
  models: Model<any>[];
  bus: Pick<EventBus, 'publishEnvelope'>;
  logger: Logger;
  metrics?: PlatformMetrics;
  /** How often to look for pending events when nobody calls kick() (default 500 ms). */
  intervalMs?: number;
  /**
   * The longest wait between scans of a relay that keeps finding nothing (default: 16 intervals, at
   * most 8 s, never below `intervalMs`). See createOutboxRelay.
   */
  maxIntervalMs?: number;
  /** How long a relay owns a document it is publishing (so two replicas do not both publish). */
  lockMs?: number;
  /** A larger event is parked rather than sent (default KAFKA_MAX_MESSAGE_BYTES, as the bus's). */
  maxMessageBytes?: number;
  /** Hand-overs the direct path holds in memory at most (default MAX_WRITTEN_HANDOVERS). */
  maxHandOvers?: number;
  /** How long published hand-overs are gathered before their removal (default MARK_WINDOW_MS). */
  markWindowMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Finishes the pass under way and what writers handed over, then stops polling. */
  stop(): Promise<void>;
  /** Publish now rather than at the next tick (call after writing an outbox entry). */
  kick(): void;
  /** One full pass; resolves with the number of events published. */
  flush(): Promise<number>;
  /**
   * Publishes entries a writer has just pushed to document `id` (claimed with {@link outboxClaim} in
   * the same update), without a scan: hand-overs from concurrent writers leave together in one produce
   * request, and their removal from the documents is one bulk write. Entries that cannot be published
   * now stay in their documents and are retried, by this path and, should the process die, by the
   * scan; entries that never can are parked, so they hold up nothing behind them. While Kafka refuses
   * for long, at most `maxHandOvers` are held: see createOutboxRelay.
   */
  publishWritten(
    model: OutboxRelayOptions['models'][number],
    id: unknown,
    entries: readonly OutboxEntry[],
  ): void;
  /**
   * The direct path's state, for metrics and tests: hand-overs held in memory, and whether it has
   * left what it could not hold to a sweep that has not yet succeeded.
   */
  handOvers(): { held: number; leftToScan: boolean };
}

type AnyModel = OutboxRelayOptions['models'][number];

/** Documents claimed per round of a scanning pass. */
const SCAN_BATCH = 100;
/** Hand-overs published per round of the direct path. */
const WRITTEN_BATCH = 1000;
/** Bulk writes removing published hand-overs that may be in flight at once. */
const MAX_MARKING = 8;
/**
 * How long the direct path gathers published hand-overs before removing them from their documents,
 * in one bulk write per collection. Removing each round's at once cost a database command per round,
 * and at a few hundred tasks a second a round is one task's events: gathered, one command removes
 * a window's worth, and a task whose result comes within the window has both its hand-overs removed
 * by one update. Meanwhile the entries stay in their documents under their writer's claim
 * (outboxClaim, seconds long), which keeps the scan away; a process that dies in the window leaves
 * them to be published again, with their ids, as if it had died before removing them.
 */
const MARK_WINDOW_MS = 20;
/** Published hand-overs waiting to be removed that make the direct path remove them at once. */
const MAX_WAITING_MARKS = 1000;
/**
 * Hand-overs the direct path holds at most while Kafka refuses them. A working broker takes a round
 * of WRITTEN_BATCH in milliseconds, so the list stays far below this; 5,000 is about ten seconds of
 * orchestration's hand-overs at 100 tasks/s (some four per task), enough to ride out a leader
 * election or a broker restart on the direct path. A longer outage costs no more memory than that
 * (a few KB per hand-over, a task's input included): what does not fit stays only in MongoDB, where
 * every entry is until published, and a sweep publishes it once Kafka is back.
 */
export const MAX_WRITTEN_HANDOVERS = 5_000;

/** The longest default wait between idle scans (see OutboxRelayOptions.maxIntervalMs). */
const MAX_IDLE_SCAN_MS = 8_000;

/**
 * The document-outbox relay. Writers that hand their entries over (`publishWritten`) have them
 * published at once; a scanning pass (at start, on `kick()` and every `intervalMs`) finds every
 * other document with pending events, claims it, publishes its entries in order, then removes exactly
 * the published ones. If the process dies between publish and removal, the next pass publishes the
 * same envelopes again (same ids): delivery is at-least-once, never lost.
 *
 * An idle relay scans less often: after each pass that published nothing (and with nothing held or
 * left to a sweep), the wait to the next doubles, up to `maxIntervalMs`; a pass that publishes, fails,
 * or follows a kick() brings it back to `intervalMs`. Writers kick() or hand over what they write, so
 * the scan is for what nobody announced: a process that died with claimed or unpublished entries,
 * another replica's leftovers. Those wait at most `maxIntervalMs` longer. On the launcher's MongoDB
 * a scan reads the whole collection (the `outbox.id` index does not serve `$exists`), so an idle
 * platform scanning every 500 ms paid for its collections' size twice a second, per service.
 *
 * An entry that can never be published (larger than Kafka takes, not serialisable, refused by the
 * broker for what it is) is parked rather than retried for ever: see ParkedOutboxEntry and
 * outboxParkedEvent. Anything else that fails (Kafka or MongoDB unreachable) stays pending and is
 * retried. A collection that fails does not keep the pass from the others.
 *
 * Bounded memory: the direct path holds at most `maxHandOvers` hand-overs. When a hand-over finds
 * the list full (Kafka has refused for a while), the direct path lets go of everything it holds and
 * of what writers hand over next (counted in waooaw_outbox_left_to_scan_total): all of it is pending
 * in its documents, and passes become sweeps, which publish every document's whole pending list in
 * order. A sweep ignores claims: a writer claims its document again with each write, so a sweep
 * that respected claims could leave a document's let-go events behind its later, held ones (or
 * behind a writer that never stops). Meanwhile the direct path publishes nothing, so no later
 * hand-over overtakes its document's events let go of earlier. Each sweep lets go of what is held
 * when it starts (the sweep covers it), and hand-overs arriving during it are held, up to the limit;
 * once a sweep succeeds with nothing let go of since it began, every event let go of is out, and the
 * direct path publishes what it holds and takes over again. An event that a sweep and the direct
 * path (or two relays) both send goes out twice with its id, each time in its document's order:
 * consumers drop the repeat.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { models, bus, logger, metrics } = options;
  const intervalMs = options.intervalMs ?? 500;
  const maxIntervalMs =
    options.maxIntervalMs ?? Math.max(intervalMs, Math.min(intervalMs * 16, MAX_IDLE_SCAN_MS));
  /** The wait before the next scan: intervalMs while there is work, growing while there is none. */
  let scanDelayMs = intervalMs;
  const lockMs = options.lockMs ?? OUTBOX_LOCK_MS;
  const maxMessageBytes = options.maxMessageBytes ?? KAFKA_MAX_MESSAGE_BYTES;
  const maxHandOvers = options.maxHandOvers ?? MAX_WRITTEN_HANDOVERS;
  const markWindowMs = options.markWindowMs ?? MARK_WINDOW_MS;
  let timer: NodeJS.Timeout | undefined;
  let afterClaims: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = true;

  const collectionOf = (model: AnyModel) =>
    // The relay reads and writes only the outbox fields, through the driver (no casting by the schema).
    model.collection as unknown as mongo.Collection<OutboxDocument & { _id: unknown }>;

  /**
   * Sets an entry that can never be published aside: in one update of its document it moves to
   * `outboxParked` and a gap record (outboxParkedEvent) takes its place in the outbox, so the record
   * goes out where the event would have, before the document's later events. Returns the gap record
   * to publish, or null (nothing more to publish: the entry was itself a gap record, or another
   * relay parked it first).
   */
  const park = async (
    model: AnyModel,
    id: unknown,
    entry: OutboxEntry,
    reason: PermanentPublishReason,
    err: unknown,
  ): Promise<OutboxEntry | null> => {
    const collection = collectionOf(model);
    const error = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
    const envelope = entry.envelope as Partial<Envelope> | undefined;
    // A gap record that cannot be published itself is only parked: replacing it would loop.
    const marker =
      envelope?.type === outboxParkedEvent.type
        ? null
        : {
            id: '',
            topic: entry.topic,
            key: entry.key,
            envelope: createEnvelope(
              outboxParkedEvent,
              {
                eventId: entry.id,
                eventType: envelope?.type ?? 'unknown',
                ...(envelope?.subject ? { subject: envelope.subject } : {}),
                reason,
                error,
                collection: collection.collectionName,
                documentId: String(id),
              },
              {
                source: envelope?.source ?? '/waooaw/outbox',
                id: randomUUID(),
                ...(envelope?.subject ? { subject: envelope.subject } : {}),
                ...(envelope?.traceparent ? { traceparent: envelope.traceparent } : {}),
              },
            ),
          };
    if (marker) marker.id = marker.envelope.id;
    const record: ParkedOutboxEntry = { entry, reason, error, at: new Date() };
    const result = await collection.updateOne(
      // The relay serves collections whose _id is of any type; the driver checks it at run time.
      { _id: id as never, 'outbox.id': entry.id },
      marker
        ? { $set: { 'outbox.$': marker }, $push: { outboxParked: record } }
        : { $pull: { outbox: { id: entry.id } }, $push: { outboxParked: record } },
    );
    if (result.matchedCount === 0) return null;
    metrics?.outboxParked.inc({ collection: collection.collectionName, reason });
    logger.error(
      {
        collection: collection.collectionName,
        document: String(id),
        topic: entry.topic,
        eventId: entry.id,
        eventType: envelope?.type,
        reason,
        error,
      },
      "an outbox event can never be published: parked it in outboxParked and published a gap record (platform.outbox.parked) in its place; the document's later events go on",
    );
    return marker;
  };

  /**
   * An entry's Kafka message value, or why it can never be published: not serialisable, or larger
   * than Kafka takes. Measured here, before anything is sent, so the gap record of such an entry
   * goes out in its place; the value is handed to the bus so it is not serialised twice.
   */
  const measure = (entry: OutboxEntry): { value: string } | { rejected: PublishRejectedError } => {
    try {
      const message = envelopeMessage(entry.envelope, entry.key);
      const bytes = messageBytes(message);
      if (bytes > maxMessageBytes)
        return {
          rejected: new PublishRejectedError(
            `event ${entry.id} is ${bytes} bytes as a Kafka message, larger than the max message size of ${maxMessageBytes} bytes Kafka takes`,
            'too-large',
          ),
        };
      return { value: message.value as string };
    } catch (err) {
      if (err instanceof PublishRejectedError) return { rejected: err };
      throw err;
    }
  };

  /**
   * Publishes the entries of several documents at once (the bus coalesces concurrent sends into one
   * request). Per document: the ids of the entries published before its first failure that may
   * succeed later (only those may be removed, so a document's events still go out in order), and
   * what is left to publish from there on (the scan finds it in the document again; the direct path
   * keeps it). An entry that can never be published is parked, not a failure: what follows it goes
   * on. Parking needs MongoDB; if that fails, the entry stays pending like any failed publish.
   */
  const publishInOrder = async (
    docs: { model: AnyModel; id: unknown; entries: readonly OutboxEntry[] }[],
  ): Promise<{ sent: string[][]; left: OutboxEntry[][]; error: Error | null }> => {
    let error: Error | null = null;
    const fail = (err: unknown) => {
      error ??= err instanceof Error ? err : new Error(`publish failed: ${String(err)}`);
    };
    const parkOrKeep = async (
      doc: (typeof docs)[number],
      entry: OutboxEntry,
      reason: PermanentPublishReason,
      cause: unknown,
    ): Promise<{ marker: OutboxEntry | null } | null> => {
      try {
        return { marker: await park(doc.model, doc.id, entry, reason, cause) };
      } catch (parkErr) {
        logger.warn(
          { error: (parkErr as Error).message, eventId: entry.id },
          'could not park an outbox event that can never be published; trying again later',
        );
        fail(parkErr);
        return null;
      }
    };

    const prepared = await Promise.all(
      docs.map(async (doc) => {
        const ready: { entry: OutboxEntry; value?: string }[] = [];
        for (const [k, entry] of doc.entries.entries()) {
          const measured = measure(entry);
          if ('value' in measured) {
            ready.push({ entry, value: measured.value });
            continue;
          }
          const parked = await parkOrKeep(doc, entry, measured.rejected.reason, measured.rejected);
          if (!parked) return { ready, rest: doc.entries.slice(k) };
          if (parked.marker) ready.push({ entry: parked.marker });
        }
        return { ready, rest: [] as OutboxEntry[] };
      }),
    );
    const outcomes = await Promise.all(
      prepared.map((p) =>
        Promise.allSettled(
          p.ready.map(({ entry, value }) =>
            bus.publishEnvelope(entry.topic, entry.envelope, entry.key, value),
          ),
        ),
      ),
    );
    const sent: string[][] = [];
    const left: OutboxEntry[][] = [];
    await Promise.all(
      outcomes.map(async (settled, i) => {
        const { ready, rest } = prepared[i]!;
        const ids: string[] = [];
        const markers: OutboxEntry[] = [];
        let k = 0;
        for (; k < settled.length; k++) {
          const outcome = settled[k]!;
          const { entry } = ready[k]!;
          if (outcome.status === 'fulfilled') {
            ids.push(entry.id);
            continue;
          }
          // The broker refused it for what it is (too large for its topic, say): park it too. Its
          // gap record goes out after what was sent with it.
          const reason = permanentPublishReason(outcome.reason);
          if (reason) {
            const parked = await parkOrKeep(docs[i]!, entry, reason, outcome.reason);
            if (parked) {
              if (parked.marker) markers.push(parked.marker);
              continue;
            }
          } else {
            logger.warn(
              { error: (outcome.reason as Error).message, topic: entry.topic },
              'publishing an outbox event failed; it stays pending and is retried',
            );
            fail(outcome.reason);
          }
          break;
        }
        sent[i] = ids;
        left[i] = [...markers, ...ready.slice(k).map((r) => r.entry), ...rest];
      }),
    );
    return { sent, left, error };
  };

  /**
   * Removes what was published, one bulk write per collection, and releases the scan's claims. A
   * writer's own claim is left to expire: the writer may have written again meanwhile, and releasing
   * that newer claim would let a scan publish its entries a second time.
   */
  const markSent = async (model: AnyModel, done: { id: unknown; sent: string[] }[], release: boolean) => {
    const ops = done.map((d): mongo.AnyBulkWriteOperation<OutboxDocument & { _id: unknown }> => ({
      updateOne: {
        // The relay serves collections whose _id is of any type; the driver checks it at run time.
        filter: { _id: d.id as never },
        update: release
          ? { $pull: { outbox: { id: { $in: d.sent } } }, $set: { outboxLockedUntil: null } }
          : { $pull: { outbox: { id: { $in: d.sent } } } },
      },
    }));
    if (ops.length === 0) return;
    const collection = collectionOf(model);
    await collection.bulkWrite(ops, { ordered: false });
    const count = done.reduce((n, d) => n + d.sent.length, 0);
    if (count) metrics?.outboxPublished.inc({ collection: collection.collectionName }, count);
  };

  /** Publishes a collection's pending documents; a sweep takes claimed ones too (see createOutboxRelay). */
  const relayModel = async (model: AnyModel, sweep: boolean): Promise<number> => {
    const collection = collectionOf(model);
    let published = 0;
    for (;;) {
      const now = new Date();
      const pendingFilter = sweep
        ? { 'outbox.id': { $exists: true } }
        : {
            'outbox.id': { $exists: true },
            $or: [{ outboxLockedUntil: null }, { outboxLockedUntil: { $lt: now } }],
          };
      const candidates = await collection
        .find(pendingFilter, { projection: { _id: 1 }, limit: SCAN_BATCH })
        .toArray();
      if (candidates.length === 0) return published;
      // Claim each by id (another relay may be claiming the same ones): only what we claimed is ours.
      const claimed = (
        await Promise.all(
          candidates.map((c) =>
            collection.findOneAndUpdate(
              { _id: c._id, ...pendingFilter },
              { $set: { outboxLockedUntil: new Date(now.getTime() + lockMs) } },
              { returnDocument: 'after', projection: { outbox: 1 } },
            ),
          ),
        )
      ).filter((d): d is NonNullable<typeof d> => d !== null);
      const { sent, left, error } = await publishInOrder(
        claimed.map((d) => ({ model, id: d._id, entries: d.outbox ?? [] })),
      );
      await markSent(
        model,
        claimed.map((d, i) => ({ id: d._id, sent: sent[i]! })),
        true,
      );
      published += sent.reduce((n, s) => n + s.length, 0);
      if (error) throw error;
      // Anything left without an error is a parked entry's gap record, pending now: go round again.
      if (candidates.length < SCAN_BATCH && left.every((l) => l.length === 0)) return published;
    }
  };

  /** Every collection, whatever happens to the others; then fails with whatever failed. */
  const pass = async (sweep: boolean): Promise<number> => {
    let total = 0;
    const failures: { collection: string; error: Error }[] = [];
    for (const model of models) {
      try {
        total += await relayModel(model, sweep);
      } catch (err) {
        failures.push({
          collection: collectionOf(model).collectionName,
          error: err instanceof Error ? err : new Error(String(err)),
        });
      }
    }
    if (failures.length === 1) throw failures[0]!.error;
    if (failures.length > 1)
      throw new AggregateError(
        failures.map((f) => f.error),
        `outbox relay: ${failures.map((f) => `${f.collection}: ${f.error.message}`).join('; ')}`,
      );
    return total;
  };

  // The direct path: hand-overs in arrival order, so one document's events keep their order.
  let written: { model: AnyModel; id: unknown; entries: readonly OutboxEntry[] }[] = [];
  /** Set while what the direct path let go of waits for a sweep (see createOutboxRelay). */
  let leftToScan = false;
  /** Hand-overs let go of so far; a sweep that began before the latest one does not cover it. */
  let letGo = 0;
  /** Changes whenever `written` is let go of, so a round under way does not put its failures back. */
  let generation = 0;

  /** Lets go of hand-overs: their entries stay pending in their documents for a sweep to publish. */
  const leaveToScan = (handOvers: readonly (typeof written)[number][]) => {
    letGo += handOvers.length;
    if (!metrics) return;
    for (const h of handOvers)
      metrics.outboxLeftToScan.inc({ collection: collectionOf(h.model).collectionName }, h.entries.length);
  };

  let writing: Promise<void> | undefined;
  let retryDelayMs = 0;
  /** Bulk writes removing published hand-overs, in flight (at most MAX_MARKING at once). */
  const markings = new Set<Promise<void>>();
  /** Published hand-overs not yet removed: per collection, per document, the entry ids sent. */
  let marks = new Map<AnyModel, Map<unknown, string[]>>();
  let waitingMarks = 0;
  let markTimer: NodeJS.Timeout | undefined;
  const toMark = (model: AnyModel, id: unknown, sent: readonly string[]) => {
    let byId = marks.get(model);
    if (!byId) marks.set(model, (byId = new Map<unknown, string[]>()));
    const ids = byId.get(id);
    if (ids) ids.push(...sent);
    else byId.set(id, [...sent]);
    waitingMarks += sent.length;
  };
  /** Removes every published hand-over waiting: one bulk write per collection. */
  const markNow = () => {
    if (markTimer) clearTimeout(markTimer);
    markTimer = undefined;
    const waiting = marks;
    marks = new Map();
    waitingMarks = 0;
    for (const [model, byId] of waiting) {
      const done = [...byId].map(([id, sent]) => ({ id, sent }));
      const marking: Promise<void> = markSent(model, done, false)
        .catch((err: unknown) =>
          // Published but still recorded as pending: the scan publishes them again (same ids) later.
          logger.warn(
            { error: (err as Error).message },
            'could not mark outbox events sent; they may repeat',
          ),
        )
        .finally(() => markings.delete(marking));
      markings.add(marking);
    }
  };
  const draining = () => !leftToScan && written.length > 0;
  const drainWritten = (): Promise<void> => {
    writing ??= (async () => {
      while (draining()) {
        if (retryDelayMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
          if (!draining()) break;
        }
        const batch = written.slice(0, WRITTEN_BATCH);
        const batchGeneration = generation;
        const { sent, left, error } = await publishInOrder(batch);
        // Marked sent in the background and gathered (MARK_WINDOW_MS): the next hand-overs are
        // published meanwhile rather than after a database round trip.
        batch.forEach((b, i) => {
          if (sent[i]!.length > 0) toMark(b.model, b.id, sent[i]!);
        });
        if (waitingMarks >= MAX_WAITING_MARKS) markNow();
        else if (waitingMarks > 0) markTimer ??= setTimeout(markNow, markWindowMs);
        if (markings.size >= MAX_MARKING) await Promise.race(markings);
        // Let go of meanwhile: what failed is pending in MongoDB for the sweep, not held any more.
        if (generation !== batchGeneration) continue;
        const failed = batch.map((b, i) => ({ ...b, entries: left[i]! })).filter((b) => b.entries.length > 0);
        written = [...failed, ...written.slice(batch.length)];
        // Keep a failed document's later hand-overs behind it; back off while Kafka refuses. What is
        // left without an error (a parked entry's gap record) goes out at once.
        retryDelayMs = error ? Math.min(5_000, Math.max(100, retryDelayMs * 2)) : 0;
        if (error && stopped) return;
      }
    })().finally(() => {
      writing = undefined;
    });
    return writing;
  };
  const drainInBackground = () => {
    void drainWritten().catch((err: unknown) =>
      logger.error({ error: (err as Error).message }, 'publishing handed-over outbox events failed'),
    );
  };

  /** A pass: a sweep while hand-overs let go of wait for one, else a scan of unclaimed documents. */
  const scanOrSweep = async (): Promise<number> => {
    if (!leftToScan) return pass(false);
    // Everything held now is pending in MongoDB, so this sweep publishes it: let go of it, and hold
    // what is handed over during the sweep (it may not cover that) in the room this makes.
    leaveToScan(written);
    written = [];
    generation++;
    const before = letGo;
    const published = await pass(true);
    if (letGo === before) {
      leftToScan = false;
      retryDelayMs = 0;
      if (written.length > 0) drainInBackground();
    } else if (!stopped) again = true; // Some were let go of during the sweep: it may have missed them.
    return published;
  };

  const flush = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      do {
        again = false;
        total += await scanOrSweep();
      } while (again);
      return total;
    })().finally(() => (running = undefined));
    return running;
  };

  const tick = () => {
    flush().then(
      (published) => {
        const idle = published === 0 && !leftToScan && written.length === 0;
        scanDelayMs = idle ? Math.min(scanDelayMs * 2, maxIntervalMs) : intervalMs;
        schedule();
      },
      (err: unknown) => {
        logger.error({ error: (err as Error).message }, 'outbox relay pass failed; will retry');
        scanDelayMs = intervalMs;
        schedule();
      },
    );
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    if (!stopped) timer = setTimeout(tick, scanDelayMs);
  };

  const kick = () => {
    if (!stopped) {
      if (timer) clearTimeout(timer);
      // Something was written: look often again until a pass finds nothing.
      scanDelayMs = intervalMs;
      tick();
    }
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
      // What a process that died left claimed becomes free a moment later: look again then, rather
      // than a whole interval later (services with large collections scan rarely).
      afterClaims = setTimeout(kick, OUTBOX_CLAIM_MS + 500);
      afterClaims.unref();
      if (draining()) drainInBackground();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (afterClaims) clearTimeout(afterClaims);
      await writing?.catch(() => undefined);
      markNow();
      await Promise.all(markings);
      await running?.catch(() => undefined);
    },
    kick,
    flush,
    publishWritten(model, id, entries) {
      if (entries.length === 0) return;
      const handOver = { model, id, entries };
      if (written.length < maxHandOvers) {
        written.push(handOver);
        // While a sweep is awaited it is only held: published before the sweep, it could overtake
        // its document's events let go of earlier.
        if (!leftToScan) drainInBackground();
        return;
      }
      if (!leftToScan) {
        logger.warn(
          { held: written.length, maxHandOvers },
          'the outbox hand-over list is full (Kafka refuses): leaving its events to a sweep of MongoDB until one succeeds',
        );
        leftToScan = true;
        leaveToScan(written);
        written = [];
        generation++;
        kick();
      }
      leaveToScan([handOver]);
    },
    handOvers: () => ({ held: written.length, leftToScan }),
  };
}
