import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Admin, Consumer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { Histogram } from 'prom-client';
import type { Envelope, EventBus, Logger } from '@waooaw/shared';
import {
  inSpan,
  SpanKind,
  badUserInput,
  ErrorCode,
  fetchWindow,
  parseEnvelope,
  PlatformError,
  retryTransient,
  subscribeWhenReady,
} from '@waooaw/shared';
import type { EventRoute, RoutedListeners } from './listeners';
import { routedListeners } from './listeners';

export interface FeedEvent {
  envelope: Envelope<Record<string, unknown>>;
  partition: number;
  offset: number;
  timestamp: number;
  /**
   * Where the stream stands once this event is delivered: for every partition of the topic (by
   * index), the next offset to deliver. Events reach subscribers one at a time in the order the
   * feed's consumer read them, so this vector splits the topic exactly into what came up to this
   * event and what came after it, across partitions (producer timestamps cannot: they tie and skew).
   */
  position: readonly number[];
}

export interface FeedOptions {
  /** Secret the cursors are signed with (a key is derived from it, see cursorKey). */
  cursorSecret: string;
  /** A cursor issued longer ago than this is refused (CURSOR_EXPIRED). */
  resumeMaxAgeSeconds: number;
  /** Prefixes the feed's consumer groups (KAFKA_GROUP_PREFIX). */
  groupPrefix?: string;
  now?: () => number;
  /** Where `waooaw_subscription_event_age_seconds` is registered (none: not measured). */
  registry?: Registry;
}

/**
 * How old a live event is (now minus its Kafka timestamp) when the gateway hands it to its
 * subscribers: how far the live feed runs behind. Counted only for events someone listens to. What a
 * subscriber sees later than this is the gateway's sending and the network; what it sees up to this is
 * the publishing service, the broker and the gateway's reading.
 */
function eventAgeHistogram(registry: Registry) {
  return new Histogram({
    name: 'waooaw_subscription_event_age_seconds',
    help: 'Age of a live event (since its Kafka timestamp) when the gateway hands it to its subscribers',
    labelNames: ['topic'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}

/** A replay in progress: read from a cursor to the topic's end as it was when asked. */
export interface Replay {
  /**
   * The end the replay reads to (next offset per partition), as soon as it is known: live events
   * below it are the replay's to deliver.
   */
  end: Promise<readonly number[]>;
  /** Resolves with that end (next offset per partition) once every event below it was passed on, or once stopped. */
  done: Promise<readonly number[]>;
  /** Stops fetching until resume(): the subscriber has enough replayed events waiting. */
  pause(): void;
  resume(): void;
  /** Disconnects the replay's consumer now (the subscriber left); `done` resolves. */
  stop(): Promise<void>;
}

/** The signed part of a cursor: format version, issue time (ms since epoch) and position. */
interface CursorBody {
  v: 1;
  i: number;
  o: number[];
}

/**
 * The live consumer's fetches (ms): the broker answers once it has gathered this long, rather than at
 * every message. The gateway reads every subscribable topic whether or not anyone listens (so a new
 * subscriber is live at once), task updates among them: at 250 tasks a second that was about 145
 * fetches a second, each a request the broker and the gateway handle whatever it carries. In windows
 * of 25 ms it is at most 40, busy or idle (idle, a fetch waits the window out empty: 40 a second
 * instead of the 4 of a 250 ms long poll, the price of the bound). A subscriber hears an event up to
 * this much later, a tenth of the 250 ms the live feeds aim for at their slowest (issue 19).
 */
export const LIVE_FETCH_WINDOW_MS = 25;

/** More partitions than any topic here has: a bound on what a cursor may claim before it is trusted. */
const MAX_PARTITIONS = 10_000;

/**
 * The cursor key is derived from the configured secret with a label, so the same secret can sign
 * caller tokens and cursors without one ever passing for the other.
 */
const cursorKey = (secret: string) =>
  createHmac('sha256', secret).update('waooaw/subscription-cursor/v1').digest();

const notACursor = () =>
  badUserInput(
    '"after" is not a cursor of this subscription: pass the `cursor` of an event this subscription delivered to you, or subscribe without `after`',
  );

const cursorExpired = (why: string, reason: 'MAX_AGE' | 'RETENTION') =>
  new PlatformError(
    ErrorCode.CURSOR_EXPIRED,
    `${why}, so what was missed since cannot be replayed: subscribe without \`after\` and reload the current state with a query`,
    { reason },
  );

function toEvent(
  partition: number,
  message: { offset: string; timestamp: string; value: Buffer | null },
  position: readonly number[],
): FeedEvent | null {
  try {
    const envelope = parseEnvelope(message.value) as Envelope<Record<string, unknown>>;
    return {
      envelope,
      partition,
      offset: Number(message.offset),
      timestamp: Number(message.timestamp),
      position,
    };
  } catch {
    return null; // not an event envelope: nothing a subscriber can be sent
  }
}

/** For every partition (by index) of a topic: its low and high watermarks. */
async function watermarks(admin: Admin, topic: string) {
  const offsets = await admin.fetchTopicOffsets(topic);
  const low: number[] = [];
  const high: number[] = [];
  for (const o of offsets) {
    low[o.partition] = Number(o.low);
    high[o.partition] = Number(o.high);
  }
  return { low, high };
}

/** Places `consumer` on each partition of `topic` at its offset in `next` (indexed by partition). */
function seekEach(consumer: Consumer, topic: string, next: readonly number[]) {
  for (const [partition, offset] of next.entries())
    consumer.seek({ topic, partition, offset: String(offset) });
}

/**
 * Kafka for subscriptions. Every topic has one live consumer shared by all its subscribers (a group
 * of its own per gateway, starting at the end), started with the first subscriber and stopped with
 * the last. Replays read a topic from a cursor up to the end it had when asked, with backpressure.
 */
export function createKafkaFeeds(
  bus: Pick<EventBus, 'kafka' | 'ensureTopics' | 'disconnect' | 'topic' | 'groupId'>,
  logger: Logger,
  options: FeedOptions,
) {
  const { kafka } = bus;
  const key = cursorKey(options.cursorSecret);
  const now = options.now ?? Date.now;
  const groupPrefix = options.groupPrefix ?? '';
  const eventAge = options.registry ? eventAgeHistogram(options.registry) : undefined;
  const live = new Map<
    string,
    { listeners: RoutedListeners<FeedEvent>; started: Promise<Consumer>; pinned: boolean }
  >();

  const sign = (topic: string, body: string) =>
    createHmac('sha256', key).update(`${topic}\n${body}`).digest();

  const withAdmin = async <T>(use: (admin: Admin) => Promise<T>): Promise<T> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await admin.disconnect();
    }
  };

  // Feeds and cursors speak of logical topics; the consumers below read the namespaced ones.
  /**
   * One live consumer for the topics of `listenersOf` (logical topic -> its listeners): a topic kept
   * live for the gateway's life shares it with the others, a topic listened to on its own has one of
   * its own. Each consumer costs a group, its connections, a fetch loop and heartbeats whether or
   * not anything arrives, so the subscribable topics (about ten) share one: a fetch then asks for
   * all of them at once.
   * Messages are handled one at a time in the order read (kafkajs's default), which the position
   * vectors need per topic; across topics it means that one topic's burst delays another's events
   * by the time their listeners take to queue them (they send nothing themselves, see listeners.ts).
   */
  async function startLive(listenersOf: ReadonlyMap<string, RoutedListeners<FeedEvent>>): Promise<Consumer> {
    // A subscription may come before the first event of its topic.
    await bus.ensureTopics([...listenersOf.keys()]);
    // The live consumer starts at the end it is told, not at the one the broker picks when it joins:
    // the position vector of its events must count every offset before them.
    // Retried while transient: on a broker just started, a topic created a moment ago may still be
    // electing its leaders ("not the leader", which kafkajs's admin does not retry), and the gateway
    // used to exit at start-up on it.
    const feeds = await retryTransient(() =>
      withAdmin((admin) =>
        Promise.all(
          [...listenersOf].map(async ([logical, listeners]) => {
            const topic = bus.topic(logical);
            return { topic, logical, listeners, next: (await watermarks(admin, topic)).high };
          }),
        ),
      ),
    );
    const byTopic = new Map(feeds.map((f) => [f.topic, f]));
    const seekAll = () => {
      for (const f of feeds) seekEach(consumer, f.topic, f.next);
    };
    const consumer = kafka.consumer({
      groupId: bus.groupId(`${groupPrefix}gateway-live-${randomUUID()}`),
      ...fetchWindow(LIVE_FETCH_WINDOW_MS),
    });
    // Every later join (kafkajs restarts a consumer that crashed, e.g. when the broker went away, and
    // rejoins after a rebalance) starts again where this consumer is, not where the broker would put
    // a group without committed offsets (the end: every event published meanwhile would be skipped,
    // for every subscriber at once). The first join is placed by the seeks after run() below.
    let joinedBefore = false;
    const joined = new Promise<void>((resolve) =>
      consumer.on(consumer.events.GROUP_JOIN, () => {
        if (joinedBefore) seekAll();
        joinedBefore = true;
        resolve();
      }),
    );
    await consumer.connect();
    for (const f of feeds) await subscribeWhenReady(consumer, f.topic, false);
    await consumer.run({
      // The group is this consumer's alone and starts where it is told: its offsets are never read
      // again, so committing them (kafkajs does after every fetched batch) would only keep the broker busy.
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const feed = byTopic.get(topic);
        if (!feed) return;
        const { next, listeners } = feed;
        const offset = Number(message.offset);
        // Read again (after a rebalance): its listeners already had it.
        if (offset < (next[partition] ?? 0)) return;
        next[partition] = offset + 1;
        // A kept-live topic with nobody listening (task updates under load: hundreds a second) is
        // read but not parsed.
        if (listeners.size === 0) return;
        const event = toEvent(partition, message, next.slice());
        if (!event) return;
        eventAge?.observe({ topic: feed.logical }, Math.max(0, now() - event.timestamp) / 1000);
        // The live feed's part of the event's trace: handed to this gateway's subscribers.
        await inSpan(
          'gateway',
          () => ({
            name: `deliver ${event.envelope.type}`,
            kind: SpanKind.CONSUMER,
            parent: event.envelope.traceparent,
            attributes: { 'messaging.destination.name': topic, 'waooaw.listeners': listeners.size },
          }),
          async () => listeners.deliver(event),
        );
      },
    });
    // run() resolves once the group is joined and before anything fetched is processed; a pending
    // seek also discards a fetch already in flight, so nothing from another position gets through.
    seekAll();
    await joined;
    return consumer;
  }

  const newListeners = () => routedListeners<FeedEvent>((e) => e.envelope.data);

  const entryFor = (topic: string) => {
    let entry = live.get(topic);
    if (!entry) {
      const listeners = newListeners();
      entry = { listeners, started: startLive(new Map([[topic, listeners]])), pinned: false };
      live.set(topic, entry);
    }
    return entry;
  };

  return {
    /**
     * Starts one live consumer for `topics` (those not live yet) and keeps it running with or without
     * listeners, so the first subscriber is live at once; resolves once it has joined its group.
     */
    async keepLive(topics: readonly string[]): Promise<void> {
      const fresh = [...new Set(topics)].filter((topic) => !live.has(topic));
      if (fresh.length > 0) {
        const listeners = new Map(fresh.map((topic) => [topic, newListeners()]));
        const started = startLive(listeners);
        for (const [topic, l] of listeners) live.set(topic, { listeners: l, started, pinned: true });
      }
      // A topic someone already listens to keeps the consumer it has, now for good.
      const entries = topics.map((topic) => entryFor(topic));
      for (const entry of entries) entry.pinned = true;
      await Promise.all(entries.map((entry) => entry.started));
    },

    /**
     * Calls `listener` for every event published from now on (only those `route` matches, when given:
     * see listeners.ts); resolves once listening. Returns the detach.
     */
    async listen(
      topic: string,
      listener: (e: FeedEvent) => void,
      route?: EventRoute,
    ): Promise<() => Promise<void>> {
      const entry = entryFor(topic);
      const remove = entry.listeners.add(listener, route);
      const current = entry;
      await current.started;
      return async () => {
        remove();
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

    /** The cursor a client passes as `after` to resume after `position` of `topic`: signed, with its issue time. */
    cursor(topic: string, position: readonly number[]): string {
      const body: CursorBody = { v: 1, i: now(), o: [...position] };
      const encoded = Buffer.from(JSON.stringify(body)).toString('base64url');
      return `${encoded}.${sign(topic, encoded).toString('base64url')}`;
    },

    /**
     * The position a cursor of `topic` stands for. Refuses (BAD_USER_INPUT) a cursor this gateway did
     * not sign for this topic, and (CURSOR_EXPIRED) one issued longer ago than the resume window.
     */
    readCursor(topic: string, cursor: string): readonly number[] {
      const [encoded, signature, ...rest] = cursor.split('.');
      if (!encoded || !signature || rest.length > 0) throw notACursor();
      const given = Buffer.from(signature, 'base64url');
      const expected = sign(topic, encoded);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw notACursor();
      let body: CursorBody;
      try {
        body = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as CursorBody;
      } catch {
        throw notACursor();
      }
      const valid =
        typeof body === 'object' &&
        body !== null &&
        body.v === 1 &&
        Number.isSafeInteger(body.i) &&
        Array.isArray(body.o) &&
        body.o.length <= MAX_PARTITIONS &&
        body.o.every((o) => Number.isSafeInteger(o) && o >= 0);
      if (!valid) throw notACursor();
      if (now() - body.i > options.resumeMaxAgeSeconds * 1000)
        throw cursorExpired(
          `This cursor was issued more than ${options.resumeMaxAgeSeconds} s ago (the resume window)`,
          'MAX_AGE',
        );
      return body.o;
    },

    /**
     * Passes on every event of `topic` from `from` (a position, see readCursor) up to the topic's end
     * at the time of the call, per partition in order, each with its position in this stream. Refuses
     * (CURSOR_EXPIRED) a position the topic no longer keeps (below a partition's low watermark) or
     * beyond its end (the topic was recreated).
     */
    replay(logical: string, from: readonly number[], onEvent: (e: FeedEvent) => void): Replay {
      const topic = bus.topic(logical);
      let consumer: Consumer | undefined; // the replay's consumer, once it runs
      let paused = false;
      let stopped = false;
      let finish: (() => void) | undefined;
      const pending = new Set<number>();
      const ends: number[] = [];

      // The stream's position as the replay goes: starts at the cursor (a partition created after it
      // was issued from its beginning).
      let next: number[] = [];
      const endKnown = (async () => {
        const { low, high } = await retryTransient(() => withAdmin((admin) => watermarks(admin, topic)));
        next = high.map((_, p) => from[p] ?? low[p] ?? 0);
        for (const [p, end] of high.entries()) {
          const at = next[p]!;
          if (at < (low[p] ?? 0))
            throw cursorExpired('The events after this cursor are no longer kept (retention)', 'RETENTION');
          if (at > end)
            throw cursorExpired('This cursor is ahead of the topic (it was recreated)', 'RETENTION');
          ends[p] = end;
          if (at < end) pending.add(p);
        }
        return ends as readonly number[];
      })();
      const done = (async () => {
        await endKnown;
        if (pending.size === 0 || stopped) return ends;
        const replaying = kafka.consumer({
          groupId: bus.groupId(`${groupPrefix}gateway-replay-${randomUUID()}`),
          maxWaitTimeInMs: 100,
        });
        try {
          await replaying.connect();
          if (stopped) return ends;
          await subscribeWhenReady(replaying, topic, true);
          await new Promise<void>((resolve, reject) => {
            finish = resolve;
            if (stopped) return resolve();
            replaying.on(replaying.events.CRASH, ({ payload }) => reject(payload.error));
            replaying
              .run({
                autoCommit: false, // a one-off group, read once (see startLive)
                eachMessage: async ({ partition, message }) => {
                  const offset = Number(message.offset);
                  if (stopped || !pending.has(partition) || offset < next[partition]!) return;
                  const end = ends[partition]!;
                  if (offset < end) {
                    next[partition] = offset + 1;
                    const event = toEvent(partition, message, next.slice());
                    if (event) onEvent(event);
                  }
                  if (offset + 1 >= end) {
                    pending.delete(partition);
                    // This partition is done: fetch no more of it.
                    replaying.pause([{ topic, partitions: [partition] }]);
                    if (pending.size === 0) resolve();
                  }
                },
              })
              .then(() => {
                // Straight after the join, before anything fetched is processed (see startLive): each
                // partition from the cursor, the ones with nothing to replay not at all.
                seekEach(replaying, topic, next);
                const idle = next.map((_, p) => p).filter((p) => !pending.has(p));
                if (idle.length > 0) replaying.pause([{ topic, partitions: idle }]);
                if (paused) replaying.pause([{ topic }]);
                consumer = replaying; // from now on pause() and resume() act on it (kafkajs refuses before run)
              }, reject);
          });
          return ends;
        } finally {
          // Promptly, also when the subscriber left mid-replay: a fetch in flight waits at most maxWaitTimeInMs.
          await replaying
            .disconnect()
            .catch((err: unknown) => logger.warn({ err, topic }, 'replay consumer did not stop cleanly'));
        }
      })();

      // Whoever awaits one of the two sees a refusal; the other must not count as unhandled.
      endKnown.catch(() => undefined);
      done.catch(() => undefined);
      return {
        end: endKnown,
        done,
        pause() {
          if (paused) return;
          paused = true;
          // Inside eachMessage this also ends the batch being processed; the rest is fetched again on resume.
          consumer?.pause([{ topic }]);
        },
        resume() {
          if (!paused) return;
          paused = false;
          if (pending.size > 0) consumer?.resume([{ topic, partitions: [...pending] }]);
        },
        async stop() {
          stopped = true;
          finish?.();
          await done.catch(() => undefined);
        },
      };
    },

    async stop() {
      // Kept-live topics share a consumer: each is disconnected once.
      const consumers = new Set([...live.values()].map((e) => e.started));
      live.clear();
      await Promise.all(
        [...consumers].map(async (started) => (await started).disconnect().catch(() => undefined)),
      );
      // ensureTopics connected the bus's admin: left open, it would keep the process alive.
      await bus.disconnect().catch((err: unknown) => logger.warn({ err }, 'feed bus did not stop cleanly'));
    },
  };
}

export type KafkaFeeds = ReturnType<typeof createKafkaFeeds>;
