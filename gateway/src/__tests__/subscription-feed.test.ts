import { Registry } from 'prom-client';
import { z } from 'zod';
import { defineEvent, ErrorCode } from '@waooaw/shared';
import { connectTestBus, pollFor, testLogger, uniqueName, uniqueTopic } from '@waooaw/shared/testing';
import type { FeedEvent } from '../subscriptions/feed';
import { createKafkaFeeds } from '../subscriptions/feed';

/** The subscription feeds on a topic of the test's own (real Kafka), where records can be deleted. */
describe('subscription feeds: cursors and retention', () => {
  const happened = defineEvent(uniqueTopic('feed', 'happened'), z.object({ n: z.number() }));
  let bus: Awaited<ReturnType<typeof connectTestBus>>;
  let feeds: ReturnType<typeof createKafkaFeeds>;

  beforeAll(async () => {
    bus = await connectTestBus('gateway-feed-test');
    feeds = createKafkaFeeds(bus.bus, testLogger(), {
      cursorSecret: 'feed-test-cursor-secret-long-enough-0123',
      resumeMaxAgeSeconds: 3_600,
    });
  });
  afterAll(async () => {
    await feeds.stop();
    await bus.admin.deleteTopics({ topics: [bus.bus.topic(happened.topic)] }).catch(() => undefined);
    await bus.close();
  });

  it('replays exactly after a cursor, and refuses one whose events the topic no longer keeps (CURSOR_EXPIRED)', async () => {
    const live: FeedEvent[] = [];
    const detach = await feeds.listen(happened.topic, (e) => live.push(e));
    try {
      for (const n of [1, 2, 3]) await bus.bus.publish(happened, { n }, { key: 'one-partition' });
      await pollFor(() => live.length === 3, { what: 'the three events' });
    } finally {
      await detach();
    }
    const [first, second, third] = live as [FeedEvent, FeedEvent, FeedEvent];
    // The topic drops everything before the third event (as retention would).
    // The raw admin names the topic as on the broker (in the run's namespace).
    await bus.admin.fetchTopicMetadata({ topics: [bus.bus.topic(happened.topic)] }); // kafkajs needs its leaders first
    await bus.admin.deleteTopicRecords({
      topic: bus.bus.topic(happened.topic),
      partitions: [{ partition: third.partition, offset: String(third.offset) }],
    });

    const replayed: FeedEvent[] = [];
    const fromSecond = feeds.readCursor(happened.topic, feeds.cursor(happened.topic, second.position));
    await feeds.replay(happened.topic, fromSecond, (e) => replayed.push(e)).done;
    expect(replayed.map((e) => e.envelope.data.n)).toEqual([3]);
    expect(replayed[0]!.position).toEqual(third.position);

    const fromFirst = feeds.readCursor(happened.topic, feeds.cursor(happened.topic, first.position));
    await expect(feeds.replay(happened.topic, fromFirst, () => undefined).done).rejects.toMatchObject({
      extensions: { code: ErrorCode.CURSOR_EXPIRED, reason: 'RETENTION' },
      message: expect.stringMatching(/subscribe without `after` and reload/) as unknown,
    });
  });

  it('keeps several topics live on one consumer, each with its own positions', async () => {
    const other = defineEvent(uniqueTopic('feed', 'other'), z.object({ n: z.number() }));
    // A bus and a group prefix of its own: its groups can be told from other tests' on the broker.
    const own = await connectTestBus('gateway-feed-kept');
    const groupPrefix = `${uniqueName('kept')}.`;
    const registry = new Registry();
    const kept = createKafkaFeeds(own.bus, testLogger(), {
      cursorSecret: 'feed-test-cursor-secret-long-enough-0123',
      resumeMaxAgeSeconds: 3_600,
      groupPrefix,
      registry,
    });
    const liveGroups = async () =>
      (await own.admin.listGroups()).groups.filter((g) => g.groupId.includes(`${groupPrefix}gateway-live-`));
    try {
      await kept.keepLive([happened.topic, other.topic]);
      await kept.keepLive([other.topic, happened.topic]); // already live: nothing new
      // One group (one consumer) for both topics, not one per topic.
      expect(await liveGroups()).toHaveLength(1);

      const seen: FeedEvent[] = [];
      const detachA = await kept.listen(happened.topic, (e) => seen.push(e));
      const detachB = await kept.listen(other.topic, (e) => seen.push(e));
      await own.bus.publish(other, { n: 10 }, { key: 'k' });
      await own.bus.publish(happened, { n: 20 }, { key: 'k' });
      await own.bus.publish(other, { n: 11 }, { key: 'k' });
      await pollFor(() => seen.length === 3, { what: 'the events of both topics' });
      await detachA();
      await detachB();
      // In order within each topic. Across topics Kafka orders nothing: one fetch window may bring
      // both topics' events, handed over topic by topic.
      const ofType = (type: string) => seen.filter((e) => e.envelope.type === type);
      expect(ofType(other.type).map((e) => e.envelope.data.n)).toEqual([10, 11]);
      expect(ofType(happened.type).map((e) => e.envelope.data.n)).toEqual([20]);
      // Each event's position counts its own topic only: the second event of `other` is one past the first.
      const [o1, o2] = ofType(other.type) as [FeedEvent, FeedEvent];
      expect(o2.partition).toBe(o1.partition);
      expect(o2.position[o2.partition]).toBe(o1.position[o1.partition]! + 1);
      // How far behind the live feed runs: each event's age when handed over, by (logical) topic.
      const text = await registry.metrics();
      const count = (topic: string) =>
        Number(
          new RegExp(`waooaw_subscription_event_age_seconds_count\\{topic="${topic}"\\} (\\d+)`).exec(
            text,
          )?.[1],
        );
      expect(count(other.topic)).toBe(2);
      expect(count(happened.topic)).toBe(1);

      // A kept-live topic's consumer stays after its last listener left: the next one is live at once.
      const again: FeedEvent[] = [];
      const detachAgain = await kept.listen(other.topic, (e) => again.push(e));
      await own.bus.publish(other, { n: 12 }, { key: 'k' });
      await pollFor(() => again.length === 1, { what: 'an event after the listeners came back' });
      await detachAgain();
      expect(await liveGroups()).toHaveLength(1);
    } finally {
      await kept.stop();
      await own.admin.deleteTopics({ topics: [own.bus.topic(other.topic)] }).catch(() => undefined);
      await own.close().catch(() => undefined);
    }
  });
});
