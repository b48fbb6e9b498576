import type { Admin, KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import type { Envelope, EventBus } from '../index';
import { defineEvent } from '../index';
import { collectTopic, connectTestBus, pollFor, uniqueTopic } from '../testing';

const stepSchema = z.object({ key: z.string(), seq: z.number().int() });

const SENTINEL = 'end-of-test';

describe('event bus sends coalescing while a request is in flight', () => {
  let bus: EventBus;
  let admin: Admin;
  let close: () => Promise<void>;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    ({ bus, admin, close } = await connectTestBus('coalesce-test'));
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await close();
  });

  const newEvent = (name: string) => defineEvent(uniqueTopic(name, 'stepped'), stepSchema);

  const collect = async (topic: string) => {
    const collector = await collectTopic(topic);
    stops.push(collector.stop);
    return collector;
  };

  /**
   * Everything a topic holds, read once a marker written after the test's sends has arrived on every
   * partition: a duplicate sent earlier cannot still be on its way.
   */
  const everything = async (topic: string, messages: KafkaMessage[]) => {
    const partitions = (await admin.fetchTopicMetadata({ topics: [bus.topic(topic)] })).topics[0]!.partitions;
    await Promise.all(
      partitions.map((p) =>
        bus.sendRaw(topic, [{ partition: p.partitionId, key: SENTINEL, value: SENTINEL }]),
      ),
    );
    await pollFor(() => messages.filter((m) => m.key?.toString() === SENTINEL).length === partitions.length, {
      what: `the end markers of ${topic}`,
    });
    return messages
      .filter((m) => m.key?.toString() !== SENTINEL)
      .map((m) => JSON.parse(m.value!.toString()) as Envelope<z.output<typeof stepSchema>>);
  };

  const seqsByKey = (events: Envelope<z.output<typeof stepSchema>>[]) => {
    const byKey = new Map<string, number[]>();
    for (const e of events) byKey.set(e.data.key, [...(byKey.get(e.data.key) ?? []), e.data.seq]);
    return byKey;
  };

  it('delivers 2,000 concurrent publishes on two topics exactly once, each key in order', async () => {
    const events = [newEvent('left'), newEvent('right')];
    await bus.ensureTopics(events.map((e) => e.topic));
    const collectors = await Promise.all(events.map((e) => collect(e.topic)));
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);

    // All published at once: the first goes out alone, the rest wait and leave in a few requests.
    const sends: Promise<Envelope>[] = [];
    for (let seq = 0; seq < 50; seq++)
      for (const event of events)
        for (const key of keys) sends.push(bus.publish(event, { key, seq }, { subject: key }));
    const sent = await Promise.all(sends);
    expect(sent).toHaveLength(2000);

    for (const [i, event] of events.entries()) {
      const arrived = await everything(event.topic, collectors[i]!.messages);
      expect(arrived).toHaveLength(1000);
      expect(new Set(arrived.map((e) => e.id)).size).toBe(1000);
      expect(new Set(arrived.map((e) => e.id))).toEqual(
        new Set(sent.filter((e) => e.type === event.type).map((e) => e.id)),
      );
      const byKey = seqsByKey(arrived);
      expect([...byKey.keys()].sort()).toEqual([...keys].sort());
      for (const [key, seqs] of byKey)
        expect([key, seqs]).toEqual([key, Array.from({ length: 50 }, (_, s) => s)]);
    }
  });

  it('fails only the send the broker refuses for size; the sends around it arrive once', async () => {
    const event = newEvent('size');
    await bus.ensureTopics([event.topic]);
    const collector = await collect(event.topic);
    const huge = 'x'.repeat(1_200_000); // over the broker's default message.max.bytes (1 MB)

    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 30 }, (_, seq) => bus.publish(event, { key: 'k', seq }, { subject: 'k' })),
      bus.sendRaw(event.topic, [{ key: 'k', value: huge }]),
      ...Array.from({ length: 30 }, (_, i) =>
        bus.publish(event, { key: 'k', seq: 30 + i }, { subject: 'k' }),
      ),
    ]);

    const rejected = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
    expect(rejected).toEqual([30]);
    expect(String((outcomes[30] as PromiseRejectedResult).reason)).toMatch(
      /larger than the max message size/,
    );
    const arrived = await everything(event.topic, collector.messages);
    expect(seqsByKey(arrived).get('k')).toEqual(Array.from({ length: 60 }, (_, s) => s));
  });

  it('fails only the send to an invalid topic; the sends travelling with it arrive once', async () => {
    const event = newEvent('named');
    await bus.ensureTopics([event.topic]);
    const collector = await collect(event.topic);

    const outcomes = await Promise.allSettled([
      bus.publish(event, { key: 'k', seq: 0 }, { subject: 'k' }),
      ...Array.from({ length: 10 }, (_, i) => bus.publish(event, { key: 'k', seq: 1 + i }, { subject: 'k' })),
      bus.sendRaw('not a valid topic name!', [{ key: 'k', value: 'lost' }]),
      ...Array.from({ length: 10 }, (_, i) =>
        bus.publish(event, { key: 'k', seq: 11 + i }, { subject: 'k' }),
      ),
    ]);

    expect(outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []))).toEqual([11]);
    const arrived = await everything(event.topic, collector.messages);
    expect(seqsByKey(arrived).get('k')).toEqual(Array.from({ length: 21 }, (_, s) => s));
  });

  it('keeps working after a request that one partition refused while the others stored theirs', async () => {
    // A topic whose own limit (2 kB) is far below the broker's: the coalesced request passes the bus's
    // size check, the broker stores the other topic's messages and refuses this one.
    const strict = newEvent('strict');
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: bus.topic(strict.topic), // the raw admin names it as on the broker
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: '2000' }],
        },
      ],
    });
    const event = newEvent('fellow');
    await bus.ensureTopics([{ topic: event.topic, partitions: 1 }]);
    const collector = await collect(event.topic);

    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, seq) => bus.publish(event, { key: 'k', seq }, { subject: 'k' })),
      bus.sendRaw(strict.topic, [{ key: 'k', value: 'y'.repeat(5000) }]),
      ...Array.from({ length: 10 }, (_, i) =>
        bus.publish(event, { key: 'k', seq: 10 + i }, { subject: 'k' }),
      ),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      ...Array<string>(10).fill('fulfilled'),
      'rejected',
      ...Array<string>(10).fill('fulfilled'),
    ]);
    // The partition that stored its messages still takes new ones.
    await bus.publish(event, { key: 'k', seq: 20 }, { subject: 'k' });

    const arrived = await everything(event.topic, collector.messages);
    // Sends that travelled with the refused one may have been stored before the request failed and
    // are then sent again: at-least-once (same envelope ids), never lost, never reordered.
    const firstSeen = [...new Map(arrived.map((e) => [e.id, e.data.seq])).values()];
    expect(firstSeen).toEqual(Array.from({ length: 21 }, (_, s) => s));
  });
});
