import { z } from 'zod';
import { defineEvent, ErrorCode } from '@waooaw/shared';
import { connectTestBus, pollFor, testLogger, uniqueTopic } from '@waooaw/shared/testing';
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
});
