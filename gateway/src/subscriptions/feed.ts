import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import type { Envelope, EventBus, Logger } from '@waooaw/shared';
import { badUserInput, parseEnvelope, subscribeWhenReady } from '@waooaw/shared';

export interface FeedEvent {
  envelope: Envelope<Record<string, unknown>>;
  partition: number;
  offset: number;
  timestamp: number;
  /** Opaque position of this event: pass as `after` to receive what followed it. */
  cursor: string;
}

interface Position {
  t: number;
  p: number;
  o: number;
}

const encode = (position: Position) => Buffer.from(JSON.stringify(position)).toString('base64url');

export function decodeFeedCursor(cursor: string): Position {
  try {
    const p = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Position;
    if ([p.t, p.p, p.o].every((n) => Number.isInteger(n) && n >= 0)) return p;
  } catch {
    // fall through
  }
  throw badUserInput(
    `"${cursor}" is not a cursor of this subscription; pass the cursor of an event you received`,
  );
}

/** Whether an event comes after a position: later in its partition, or in another partition and not older. */
const isAfter = (e: FeedEvent, position: Position) =>
  e.partition === position.p ? e.offset > position.o : e.timestamp >= position.t;

function toEvent(
  partition: number,
  message: { offset: string; timestamp: string; value: Buffer | null },
): FeedEvent | null {
  try {
    const envelope = parseEnvelope(message.value) as Envelope<Record<string, unknown>>;
    const offset = Number(message.offset);
    const timestamp = Number(message.timestamp);
    return {
      envelope,
      partition,
      offset,
      timestamp,
      cursor: encode({ t: timestamp, p: partition, o: offset }),
    };
  } catch {
    return null; // not an event envelope: nothing a subscriber can be sent
  }
}

/**
 * Kafka for subscriptions. Every topic has one live consumer shared by all its subscribers (a group
 * of its own per gateway, starting at the end), started with the first subscriber and stopped with
 * the last. Replays read a topic up to the end it had when asked.
 */
export function createKafkaFeeds(bus: Pick<EventBus, 'kafka' | 'ensureTopics'>, logger: Logger) {
  const { kafka } = bus;
  const live = new Map<
    string,
    { listeners: Set<(e: FeedEvent) => void>; started: Promise<Consumer>; pinned: boolean }
  >();

  async function startLive(topic: string, listeners: Set<(e: FeedEvent) => void>): Promise<Consumer> {
    await bus.ensureTopics([topic]); // a subscription may come before the first event of its topic
    const consumer = kafka.consumer({ groupId: `gateway-live-${randomUUID()}`, maxWaitTimeInMs: 250 });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await subscribeWhenReady(consumer, topic, false);
    await consumer.run({
      // The group is this consumer's alone and starts at the end: its offsets are never read again, so
      // committing them (kafkajs does after every fetched batch) would only keep the broker busy.
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        // A kept-live topic with nobody listening (task updates under load: hundreds a second) is
        // read but not parsed.
        if (listeners.size === 0) return;
        const event = toEvent(partition, message);
        if (event) for (const listener of listeners) listener(event);
      },
    });
    await joined;
    return consumer;
  }

  const entryFor = (topic: string) => {
    let entry = live.get(topic);
    if (!entry) {
      const listeners = new Set<(e: FeedEvent) => void>();
      entry = { listeners, started: startLive(topic, listeners), pinned: false };
      live.set(topic, entry);
    }
    return entry;
  };

  return {
    /**
     * Starts the live consumer of `topic` and keeps it running with or without listeners, so the
     * first subscriber is live at once; resolves once it has joined its group.
     */
    async keepLive(topic: string): Promise<void> {
      const entry = entryFor(topic);
      entry.pinned = true;
      await entry.started;
    },

    /** Calls `listener` for every event published from now on; resolves once listening. Returns the detach. */
    async listen(topic: string, listener: (e: FeedEvent) => void): Promise<() => Promise<void>> {
      const entry = entryFor(topic);
      entry.listeners.add(listener);
      const current = entry;
      await current.started;
      return async () => {
        current.listeners.delete(listener);
        if (current.listeners.size === 0 && !current.pinned && live.get(topic) === current) {
          live.delete(topic);
          await (
            await current.started
          )
            .disconnect()
            .catch((err: unknown) => logger.warn({ err, topic }, 'live consumer did not stop cleanly'));
        }
      };
    },

    /**
     * Every event after `after` up to the topic's end at the time of the call, per partition in order.
     * Resolves with that end (next offset per partition), so live events below it can be dropped.
     */
    async replay(
      topic: string,
      after: string,
      onEvent: (e: FeedEvent) => void,
    ): Promise<Map<number, number>> {
      const position = decodeFeedCursor(after);
      const admin = kafka.admin();
      await admin.connect();
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
      await admin.disconnect();
      const pending = new Set([...ends].filter(([, high]) => high > 0).map(([p]) => p));
      if (pending.size === 0) return ends;
      const consumer = kafka.consumer({ groupId: `gateway-replay-${randomUUID()}`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await subscribeWhenReady(consumer, topic, true);
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
        consumer
          .run({
            autoCommit: false, // a one-off group, read once (see startLive)
            eachMessage: async ({ partition, message }) => {
              const end = ends.get(partition) ?? 0;
              const offset = Number(message.offset);
              if (offset < end) {
                const event = toEvent(partition, message);
                if (event && isAfter(event, position)) onEvent(event);
              }
              if (offset + 1 >= end && pending.delete(partition) && pending.size === 0) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      return ends;
    },

    async stop() {
      const entries = [...live.values()];
      live.clear();
      await Promise.all(entries.map(async (e) => (await e.started).disconnect().catch(() => undefined)));
    },
  };
}

export type KafkaFeeds = ReturnType<typeof createKafkaFeeds>;
