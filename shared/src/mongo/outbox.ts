import { randomUUID } from 'node:crypto';
import type { Model, mongo } from 'mongoose';
import { Schema } from 'mongoose';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { EventBus } from '../kafka/bus';
import type { Envelope } from '../kafka/envelope';
import { createEnvelope } from '../kafka/envelope';
import type { EventDefinition, EventInput } from '../kafka/events';

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
};

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
  /** How long a relay owns a document it is publishing (so two replicas do not both publish). */
  lockMs?: number;
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
   * stay in their documents and are retried, by this path and, should the process die, by the scan.
   */
  publishWritten(
    model: OutboxRelayOptions['models'][number],
    id: unknown,
    entries: readonly OutboxEntry[],
  ): void;
}

type AnyModel = OutboxRelayOptions['models'][number];

/** Documents claimed per round of a scanning pass. */
const SCAN_BATCH = 100;
/** Hand-overs published per round of the direct path. */
const WRITTEN_BATCH = 1000;
/** Bulk writes removing published hand-overs that may be in flight at once. */
const MAX_MARKING = 8;

/**
 * The document-outbox relay. Writers that hand their entries over (`publishWritten`) have them
 * published at once; a scanning pass (at start, on `kick()` and every `intervalMs`) finds every
 * other document with pending events, claims it, publishes its entries in order, then removes exactly
 * the published ones. If the process dies between publish and removal, the next pass publishes the
 * same envelopes again (same ids): delivery is at-least-once, never lost.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { models, bus, logger, metrics } = options;
  const intervalMs = options.intervalMs ?? 500;
  const lockMs = options.lockMs ?? OUTBOX_LOCK_MS;
  let timer: NodeJS.Timeout | undefined;
  let afterClaims: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = true;

  const collectionOf = (model: AnyModel) =>
    // The relay reads and writes only the outbox fields, through the driver (no casting by the schema).
    model.collection as unknown as mongo.Collection<OutboxDocument & { _id: unknown }>;

  /**
   * Publishes the entries of several documents at once (the bus coalesces concurrent sends into one
   * request) and returns, per document, the ids of the entries published before its first failure:
   * only those may be removed, so a document's events still go out in order.
   */
  const publishInOrder = async (
    docs: { entries: readonly OutboxEntry[] }[],
  ): Promise<{ sent: string[][]; error: Error | null }> => {
    const outcomes = await Promise.all(
      docs.map((d) =>
        Promise.allSettled(d.entries.map((e) => bus.publishEnvelope(e.topic, e.envelope, e.key))),
      ),
    );
    let error: Error | null = null;
    const sent = outcomes.map((settled, i) => {
      const ids: string[] = [];
      for (const [k, outcome] of settled.entries()) {
        if (outcome.status === 'rejected') {
          error ??=
            outcome.reason instanceof Error
              ? outcome.reason
              : new Error(`publish failed: ${String(outcome.reason)}`);
          logger.warn(
            { error: (outcome.reason as Error).message, topic: docs[i]!.entries[k]!.topic },
            'publishing an outbox event failed; it stays pending and is retried',
          );
          break;
        }
        ids.push(docs[i]!.entries[k]!.id);
      }
      return ids;
    });
    return { sent, error };
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

  const relayModel = async (model: AnyModel): Promise<number> => {
    const collection = collectionOf(model);
    let published = 0;
    for (;;) {
      const now = new Date();
      const pendingFilter = {
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
      const { sent, error } = await publishInOrder(claimed.map((d) => ({ entries: d.outbox ?? [] })));
      await markSent(
        model,
        claimed.map((d, i) => ({ id: d._id, sent: sent[i]! })),
        true,
      );
      published += sent.reduce((n, s) => n + s.length, 0);
      if (error) throw error;
      if (candidates.length < SCAN_BATCH) return published;
    }
  };

  const pass = async (): Promise<number> => {
    let total = 0;
    for (const model of models) total += await relayModel(model);
    return total;
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
        total += await pass();
      } while (again);
      return total;
    })().finally(() => (running = undefined));
    return running;
  };

  const tick = () => {
    flush().then(
      () => schedule(),
      (err: unknown) => {
        logger.error({ error: (err as Error).message }, 'outbox relay pass failed; will retry');
        schedule();
      },
    );
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };

  // The direct path: hand-overs in arrival order, so one document's events keep their order.
  let written: { model: AnyModel; id: unknown; entries: readonly OutboxEntry[] }[] = [];
  let writing: Promise<void> | undefined;
  let retryDelayMs = 0;
  const markings = new Set<Promise<void>>();
  const drainWritten = (): Promise<void> => {
    writing ??= (async () => {
      while (written.length > 0) {
        if (retryDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
        const batch = written.slice(0, WRITTEN_BATCH);
        const { sent } = await publishInOrder(batch);
        const byModel = new Map<AnyModel, { id: unknown; sent: string[] }[]>();
        batch.forEach((b, i) => {
          if (sent[i]!.length === 0) return;
          const list = byModel.get(b.model) ?? [];
          list.push({ id: b.id, sent: sent[i]! });
          byModel.set(b.model, list);
        });
        // Marked sent in the background: the next hand-overs are published meanwhile rather than
        // after a database round trip (at most MAX_MARKING writes at once).
        for (const [model, done] of byModel) {
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
          if (markings.size >= MAX_MARKING) await Promise.race(markings);
        }
        const failed = batch
          .map((b, i) => ({ ...b, entries: b.entries.slice(sent[i]!.length) }))
          .filter((b) => b.entries.length > 0);
        written = [...failed, ...written.slice(batch.length)];
        // Keep a failed document's later hand-overs behind it; back off while Kafka refuses.
        retryDelayMs = failed.length > 0 ? Math.min(5_000, Math.max(100, retryDelayMs * 2)) : 0;
        if (failed.length > 0 && stopped) return;
      }
    })().finally(() => {
      writing = undefined;
    });
    return writing;
  };

  const kick = () => {
    if (!stopped) {
      if (timer) clearTimeout(timer);
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
      if (written.length > 0) void drainWritten();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (afterClaims) clearTimeout(afterClaims);
      await writing?.catch(() => undefined);
      await Promise.all(markings);
      await running?.catch(() => undefined);
    },
    kick,
    flush,
    publishWritten(model, id, entries) {
      if (entries.length === 0) return;
      written.push({ model, id, entries });
      void drainWritten().catch((err: unknown) =>
        logger.error({ error: (err as Error).message }, 'publishing handed-over outbox events failed'),
      );
    },
  };
}
