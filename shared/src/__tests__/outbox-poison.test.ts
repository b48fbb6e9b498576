import type { Admin } from 'kafkajs';
import type { Model } from 'mongoose';
import type { Envelope, EventBus, OutboxEntry, PlatformMetrics } from '../index';
import {
  createMetrics,
  createOutboxRelay,
  outboxClaim,
  outboxEntry,
  outboxParkedEvent,
  permanentPublishReason,
  PublishRejectedError,
} from '../index';
import { connectTestBus, pollFor, testDatabase, testLogger } from '../testing';
import type { OrderDoc } from './outbox-harness';
import { orderOutbox } from './outbox-harness';

/** Over the 1 MB Kafka takes, under what a MongoDB document may hold. */
const OVERSIZE = 'x'.repeat(1_100_000);

/**
 * Poison in the outbox: an entry that can never be published is set aside with its error (and a gap
 * record in its place), and holds up neither its document's later events nor anything else.
 */
describe('document outbox: entries that can never be published', () => {
  let bus: EventBus;
  let admin: Admin;
  let close: () => Promise<void>;
  let db: Awaited<ReturnType<typeof testDatabase>>;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    ({ bus, admin, close } = await connectTestBus('poison-test'));
    db = await testDatabase('poison');
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await close();
    await db.drop();
  });

  /** An order collection and topic of the test's own (see orderOutbox), and writes to it. */
  const setup = async (topicConfig: { name: string; value: string }[] = []) => {
    const { Order, changed, published, doc } = await orderOutbox({ bus, db, stops }, async (topic) => {
      // The raw admin names the topic as on the broker (in the run's namespace), like the bus does.
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: bus.topic(topic), numPartitions: 1, configEntries: topicConfig }],
      });
    });
    const entry = (id: string, status: string) => outboxEntry(bus, changed, { status }, { subject: id });
    /** Pushes entries straight into a document's outbox: what the API's limits would refuse too. */
    const write = async (id: string, entries: OutboxEntry[], claimUntil: Date | null = null) => {
      await Order.updateOne(
        { _id: id },
        { $set: { status: 'x', outboxLockedUntil: claimUntil }, $push: { outbox: { $each: entries } } },
        { upsert: true },
      );
      return entries;
    };
    return { Order, changed, entry, write, published, doc };
  };

  const relayFor = (models: Model<OrderDoc>[], metrics: PlatformMetrics) => {
    const relay = createOutboxRelay({ models, bus, logger: testLogger(), metrics, intervalMs: 20 });
    stops.push(() => relay.stop());
    return relay;
  };

  const parkedCount = async (metrics: PlatformMetrics, collection: string, reason: string) =>
    (await metrics.outboxParked.get()).values.find(
      (v) => v.labels.collection === collection && v.labels.reason === reason,
    )?.value ?? 0;

  it('parks an oversize entry with its error, publishes a gap record and the later events in order, and scans every collection in the same pass', async () => {
    const poisoned = await setup();
    const healthy = await setup();
    const metrics = createMetrics('poison-test');
    // The poisoned collection comes first: the scan of the healthy one must not depend on it.
    const relay = relayFor([poisoned.Order, healthy.Order], metrics);
    const [before, poison, after] = await poisoned.write('o-1', [
      poisoned.entry('o-1', 'CREATED'),
      poisoned.entry('o-1', OVERSIZE),
      poisoned.entry('o-1', 'PAID'),
    ]);
    const others = await healthy.write('h-1', [
      healthy.entry('h-1', 'CREATED'),
      healthy.entry('h-1', 'PAID'),
    ]);

    // One pass: 2 events and the gap record of the first collection, 2 events of the second.
    expect(await relay.flush()).toBe(5);

    const stored = await poisoned.doc('o-1');
    expect(stored.outbox).toEqual([]);
    expect(stored.outboxParked).toHaveLength(1);
    expect(stored.outboxParked![0]).toMatchObject({
      entry: { id: poison!.id, topic: poisoned.changed.topic },
      reason: 'too-large',
    });
    expect(stored.outboxParked![0]!.error).toMatch(/larger than the max message size/);
    expect((stored.outboxParked![0]!.entry.envelope as Envelope<{ status: string }>).data.status).toBe(
      OVERSIZE,
    );
    expect(await parkedCount(metrics, poisoned.Order.collection.collectionName, 'too-large')).toBe(1);

    const events = await poisoned.published();
    expect(events.map((e) => e.type)).toEqual([
      poisoned.changed.type,
      outboxParkedEvent.type,
      poisoned.changed.type,
    ]);
    expect(events[0]!.id).toBe(before!.id);
    expect(events[2]!.id).toBe(after!.id);
    expect(events[1]).toMatchObject({
      subject: 'o-1',
      data: {
        eventId: poison!.id,
        eventType: poisoned.changed.type,
        subject: 'o-1',
        reason: 'too-large',
        collection: poisoned.Order.collection.collectionName,
        documentId: 'o-1',
      },
    });
    expect((await healthy.published()).map((e) => e.id)).toEqual(others.map((e) => e.id));
    expect((await healthy.doc('h-1')).outbox).toEqual([]);
    // Nothing is left to retry: the next pass publishes nothing.
    expect(await relay.flush()).toBe(0);
  });

  it('parks what the broker refuses for what it is (a topic with a 2 kB limit), not only what the bus refuses', async () => {
    const strict = await setup([{ name: 'max.message.bytes', value: '2000' }]);
    const metrics = createMetrics('poison-test');
    const relay = relayFor([strict.Order], metrics);
    const [first, poison, last] = await strict.write('o-1', [
      strict.entry('o-1', 'CREATED'),
      strict.entry('o-1', 'y'.repeat(5_000)),
      strict.entry('o-1', 'PAID'),
    ]);

    expect(await relay.flush()).toBe(3);
    const stored = await strict.doc('o-1');
    expect(stored.outbox).toEqual([]);
    expect(stored.outboxParked!.map((p) => [p.entry.id, p.reason])).toEqual([[poison!.id, 'too-large']]);
    const events = await strict.published();
    // Found out only by sending it, so the gap record follows what was sent with the refused event.
    expect(events.map((e) => e.id)).toEqual([first!.id, last!.id, events[2]!.id]);
    expect(events[2]).toMatchObject({
      type: outboxParkedEvent.type,
      data: { eventId: poison!.id, reason: 'too-large' },
    });
    expect(await parkedCount(metrics, strict.Order.collection.collectionName, 'too-large')).toBe(1);
  });

  it('runs every collection of a pass even when one cannot be published now, and keeps that one pending', async () => {
    const down = await setup();
    const up = await setup();
    // Kafka refuses the first collection's topic for now (a transient failure): it stays pending.
    const relay = createOutboxRelay({
      models: [down.Order, up.Order],
      logger: testLogger(),
      bus: {
        publishEnvelope: async (topic, envelope, key) => {
          if (topic === down.changed.topic) throw new Error('broker unavailable');
          await bus.publishEnvelope(topic, envelope, key);
        },
      },
    });
    const waiting = await down.write('d-1', [down.entry('d-1', 'CREATED')]);
    const sent = await up.write('u-1', [up.entry('u-1', 'CREATED')]);

    await expect(relay.flush()).rejects.toThrow('broker unavailable');
    expect((await up.published()).map((e) => e.id)).toEqual(sent.map((e) => e.id));
    expect((await up.doc('u-1')).outbox).toEqual([]);
    const pending = await down.doc('d-1');
    expect(pending.outbox.map((e) => e.id)).toEqual(waiting.map((e) => e.id));
    expect(pending.outboxParked).toBeUndefined();
  });

  it('a poison hand-over (publishWritten) holds up neither its own later events nor other documents', async () => {
    const { Order, changed, entry, write, published, doc } = await setup();
    const metrics = createMetrics('poison-test');
    const relay = relayFor([Order], metrics);
    relay.start();
    const poisoned = await write('o-1', [entry('o-1', 'CREATED'), entry('o-1', OVERSIZE)], outboxClaim());
    relay.publishWritten(Order, 'o-1', poisoned);
    // The writer goes on: a later change of the same order, and another order, both handed over.
    const later = await write('o-1', [entry('o-1', 'PAID')], outboxClaim());
    relay.publishWritten(Order, 'o-1', later);
    const other = await write('o-2', [entry('o-2', 'CREATED')], outboxClaim());
    relay.publishWritten(Order, 'o-2', other);

    await pollFor(
      async () => (await doc('o-1')).outbox.length === 0 && (await doc('o-2')).outbox.length === 0,
      { what: 'both outboxes emptied' },
    );
    const events = await published();
    const o1 = events.filter((e) => e.subject === 'o-1');
    expect(o1.map((e) => e.type)).toEqual([changed.type, outboxParkedEvent.type, changed.type]);
    expect([o1[0]!.id, o1[2]!.id]).toEqual([poisoned[0]!.id, later[0]!.id]);
    expect(o1[1]!.data).toMatchObject({ eventId: poisoned[1]!.id, reason: 'too-large' });
    expect(events.filter((e) => e.subject === 'o-2').map((e) => e.id)).toEqual([other[0]!.id]);
    expect((await doc('o-1')).outboxParked!.map((p) => p.entry.id)).toEqual([poisoned[1]!.id]);
    expect(await parkedCount(metrics, Order.collection.collectionName, 'too-large')).toBe(1);
  });

  it('tells permanent publish errors from transient ones', () => {
    expect(permanentPublishReason(new PublishRejectedError('too big', 'too-large'))).toBe('too-large');
    // kafkajs wraps the broker's protocol error (with its type) in a non-retriable one.
    const protocol = Object.assign(new Error('invalid record'), { type: 'INVALID_RECORD', retriable: false });
    expect(permanentPublishReason(Object.assign(new Error('invalid record'), { cause: protocol }))).toBe(
      'rejected',
    );
    expect(
      permanentPublishReason(Object.assign(new Error('x'), { type: 'LEADER_NOT_AVAILABLE' })),
    ).toBeNull();
    expect(permanentPublishReason(new Error('Connection error: ECONNREFUSED'))).toBeNull();
  });
});
