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
  /** Finishes the pass under way, then stops polling. */
  stop(): Promise<void>;
  /** Publish now rather than at the next tick (call after writing an outbox entry). */
  kick(): void;
  /** One full pass; resolves with the number of events published. */
  flush(): Promise<number>;
}

/**
 * The document-outbox relay: finds documents with pending events, publishes them in order, then
 * removes exactly the published entries. If the process dies between publish and removal, the next
 * pass publishes the same envelopes again (same ids): delivery is at-least-once, never lost.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { models, bus, logger, metrics } = options;
  const intervalMs = options.intervalMs ?? 500;
  const lockMs = options.lockMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = true;

  const relayModel = async (model: OutboxRelayOptions['models'][number]): Promise<number> => {
    // The relay reads and writes only the outbox fields, through the driver (no casting by the schema).
    const collection = model.collection as unknown as mongo.Collection<OutboxDocument>;
    let published = 0;
    for (;;) {
      const now = new Date();
      const claimed = await collection.findOneAndUpdate(
        {
          'outbox.0': { $exists: true },
          $or: [{ outboxLockedUntil: null }, { outboxLockedUntil: { $lt: now } }],
        },
        { $set: { outboxLockedUntil: new Date(now.getTime() + lockMs) } },
        { returnDocument: 'after', projection: { outbox: 1 } },
      );
      if (!claimed) return published;
      const entries = claimed.outbox ?? [];
      const sent: string[] = [];
      try {
        for (const entry of entries) {
          await bus.publishEnvelope(entry.topic, entry.envelope, entry.key);
          sent.push(entry.id);
        }
      } finally {
        await collection.updateOne(
          { _id: claimed._id },
          { $pull: { outbox: { id: { $in: sent } } }, $set: { outboxLockedUntil: null } },
        );
        published += sent.length;
        if (sent.length) metrics?.outboxPublished.inc({ collection: collection.collectionName }, sent.length);
      }
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

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
    kick() {
      if (!stopped) {
        if (timer) clearTimeout(timer);
        tick();
      }
    },
    flush,
  };
}
