import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect as connectSocket } from 'node:net';
import type { Admin } from 'kafkajs';
import mongoose, { Schema } from 'mongoose';
import { z } from 'zod';
import type { EventBus, PlatformMetrics } from '../index';
import {
  createEventBus,
  createMetrics,
  defineEvent,
  dlqTopic,
  errorSummary,
  isTransientError,
  on,
} from '../index';
import { pollFor, testInfra, testLogger, uniqueName, uniqueTopic } from '../testing';
import { quickRetries, quickWaits, startConsumerService } from './consumer-harness';

/**
 * A TCP proxy in front of the test MongoDB that the test can cut: every open connection is reset and
 * new ones are refused until it is restored. To the driver this is MongoDB going away and coming
 * back, without touching the MongoDB server the other tests share.
 */
async function mongoProxy() {
  const target = new URL(testInfra().mongoUrl);
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connectSocket(Number(target.port || 27017), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mongodb://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const stepSchema = z.object({ key: z.string(), seq: z.number().int() });

/**
 * Counts the writes that failed while MongoDB was away. The failure still reaches the consumer (it is
 * what makes the consumer wait), so the counter rethrows it.
 */
function failureCounter() {
  let failures = 0;
  return {
    get failures() {
      return failures;
    },
    async count<T>(write: () => Promise<T>): Promise<T> {
      try {
        return await write();
      } catch (err) {
        failures++;
        throw err;
      }
    },
  };
}

describe('consumers wait out transient failures against real Kafka and MongoDB', () => {
  let proxy: Awaited<ReturnType<typeof mongoProxy>>;
  let connection: mongoose.Connection;
  let bus: EventBus;
  let admin: Admin;
  let metrics: PlatformMetrics;
  const dbName = uniqueName('transient');

  /** A fresh one-partition topic of `{ key, seq }` events (one partition: the order is the topic's). */
  const steppedTopic = async (label: string) => {
    const stepped = defineEvent(uniqueTopic(label, 'stepped'), stepSchema);
    await bus.ensureTopics([{ topic: stepped.topic, partitions: 1 }]);
    return stepped;
  };

  beforeAll(async () => {
    proxy = await mongoProxy();
    // As connectMongo connects, with a quick heartbeat so the driver notices the cut and the return
    // within a test's patience.
    connection = await mongoose
      .createConnection(proxy.url, { dbName, serverSelectionTimeoutMS: 500, heartbeatFrequencyMS: 500 })
      .asPromise();
    metrics = createMetrics('transient-test');
    bus = createEventBus({
      brokers: testInfra().brokers,
      service: 'transient-test',
      logger: testLogger(),
      metrics,
    });
    await bus.connect();
    admin = bus.kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
    await bus.disconnect();
    proxy.restore();
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
    await proxy.close();
  });

  /** A model whose operations give up quickly while MongoDB is away (default: after 10 s). */
  const stepsModel = () =>
    connection.model(
      uniqueName('Steps'),
      new Schema({ _id: String, seqs: [Number] }, { bufferTimeoutMS: 300 }),
    );

  const highWatermark = async (topic: string) =>
    (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);

  it('pauses the partition through an outage longer than maxAttempts × backoff, then handles every message in order; nothing is dead-lettered and readiness says why meanwhile', async () => {
    const stepped = await steppedTopic('transient');
    const Steps = stepsModel();
    const handled: number[] = [];
    const errors: unknown[] = [];
    // A bus of the service's own: stopping the service disconnects it.
    const serviceBus = createEventBus({
      brokers: testInfra().brokers,
      service: 'transient-test',
      logger: testLogger(),
      metrics,
    });
    const consumer = serviceBus.consumer({
      groupId: uniqueName('g'),
      maxAttempts: 2,
      retryBackoff: quickRetries,
      waitBackoff: quickWaits,
      handlers: [
        on(stepped, async (data) => {
          try {
            await Steps.updateOne({ _id: data.key }, { $push: { seqs: data.seq } }, { upsert: true });
          } catch (err) {
            errors.push(err);
            throw err;
          }
          handled.push(data.seq);
        }),
      ],
    });
    const { service, url } = await startConsumerService({
      name: 'transient-test',
      bus: serviceBus,
      consumer,
      metrics,
    });
    const readiness = async () => {
      const res = await fetch(`${url}/health/ready`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const pausedGauge = async () =>
      (await metrics.consumerPausedPartitions.get()).values.find(
        (v) => v.labels.topic === stepped.topic && v.labels.group === consumer.groupId,
      )?.value ?? 0;
    try {
      await consumer.joined();
      await bus.publish(stepped, { key: 'k', seq: 0 }, { subject: 'k' });
      await pollFor(() => handled.length === 1, { what: 'the first step, before the outage' });
      expect((await readiness()).body.status).toBe('ready');

      proxy.cut();
      for (const seq of [1, 2, 3]) await bus.publish(stepped, { key: 'k', seq }, { subject: 'k' });
      // Many more failures than maxAttempts (2) would have allowed before: the old consumer
      // dead-lettered step 1 here.
      await pollFor(() => errors.length >= 6, {
        what: 'six failed tries during the outage',
        timeoutMs: 30_000,
      });
      expect(consumer.waiting()).toEqual([
        expect.objectContaining({
          topic: stepped.topic,
          partition: 0,
          offset: '1',
          groupId: consumer.groupId,
        }),
      ]);
      const during = await readiness();
      expect(during.status).toBe(200);
      expect(during.body.status).toBe('degraded');
      const reasons = (during.body.degraded as Record<string, string[]>).kafka!;
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toContain(`paused ${stepped.topic}[0] at offset 1`);
      expect(await pausedGauge()).toBe(1);
      expect(await metrics.registry.getSingleMetricAsString('waooaw_consumer_paused_partitions')).toMatch(
        new RegExp(
          `group="${consumer.groupId}",topic="${stepped.topic.replace(/\./g, '\\.')}"[^}]*\\} 1\\n?$`,
          'm',
        ),
      );
      expect(handled).toEqual([0]);

      proxy.restore();
      await pollFor(() => handled.length === 4, { what: 'the steps after the outage', timeoutMs: 30_000 });
      expect(handled).toEqual([0, 1, 2, 3]);
      expect((await Steps.findById('k').lean())?.seqs).toEqual([0, 1, 2, 3]);
      // Every error seen was classified transient (whichever the driver raised first: network,
      // server selection, mongoose's buffering timeout), and not one message went to the DLQ.
      expect(errors.filter((err) => !isTransientError(err)).map(errorSummary)).toEqual([]);
      expect(await highWatermark(dlqTopic(stepped.topic))).toBe(0);
      expect(consumer.waiting()).toEqual([]);
      expect(await pausedGauge()).toBe(0);
      expect((await readiness()).body).toEqual({
        status: 'ready',
        checks: { accepting: true, kafka: true, [`consumer:${consumer.groupId}`]: true },
      });
    } finally {
      proxy.restore();
      await service.stop();
    }
  });

  it('with keyConcurrency, every key keeps its order through the outage and nothing is dead-lettered', async () => {
    const stepped = await steppedTopic('lanes');
    const Steps = stepsModel();
    const handled = new Map<string, number[]>();
    const writes = failureCounter();
    const consumer = bus.consumer({
      groupId: uniqueName('g'),
      keyConcurrency: 4,
      maxAttempts: 2,
      retryBackoff: quickRetries,
      waitBackoff: quickWaits,
      handlers: [
        on(stepped, async (data) => {
          // $addToSet: a message handled in one lane after another lane's waiting message is
          // delivered again after the outage (at-least-once); the document shows it once.
          await writes.count(() =>
            Steps.updateOne({ _id: data.key }, { $addToSet: { seqs: data.seq } }, { upsert: true }),
          );
          handled.set(data.key, [...(handled.get(data.key) ?? []), data.seq]);
        }),
      ],
    });
    const keys = ['w', 'x', 'y', 'z'];
    const publishRound = (seq: number) =>
      Promise.all(keys.map((key) => bus.publish(stepped, { key, seq }, { subject: key })));
    try {
      await consumer.start();
      await publishRound(0);
      await pollFor(() => keys.every((k) => handled.get(k)?.length === 1), { what: 'round 0' });
      proxy.cut();
      for (const seq of [1, 2, 3]) await publishRound(seq);
      await pollFor(() => writes.failures >= 8 && consumer.waiting().length === 1, {
        what: 'the partition to wait',
        timeoutMs: 30_000,
      });
      proxy.restore();
      await pollFor(() => keys.every((k) => handled.get(k)?.includes(3)), {
        what: 'every key to reach step 3',
        timeoutMs: 30_000,
      });
      for (const key of keys) {
        // First handled in order, none missing; after the outage a lane may run again from the
        // waiting message on (at-least-once), never skipping one.
        const seen = handled.get(key)!;
        expect([key, [...new Set(seen)]]).toEqual([key, [0, 1, 2, 3]]);
        expect((await Steps.findById(key).lean())?.seqs).toEqual([0, 1, 2, 3]);
      }
      expect(await highWatermark(dlqTopic(stepped.topic))).toBe(0);
      await pollFor(() => consumer.waiting().length === 0, { what: 'the wait to end' });
    } finally {
      proxy.restore();
      await consumer.stop();
    }
  });

  it('still dead-letters a permanent failure (a validation error) after maxAttempts, and moves on', async () => {
    const stepped = await steppedTopic('permanent');
    const Strict = connection.model(
      uniqueName('Strict'),
      new Schema({ _id: String, seq: { type: Number, min: 0 } }),
    );
    const handled: number[] = [];
    let tries = 0;
    const consumer = bus.consumer({
      groupId: uniqueName('g'),
      maxAttempts: 3,
      retryBackoff: quickRetries,
      handlers: [
        on(stepped, async (data) => {
          tries++;
          await Strict.create({ _id: `${data.key}-${data.seq}`, seq: data.seq });
          handled.push(data.seq);
        }),
      ],
    });
    try {
      await consumer.start();
      for (const seq of [-1, 5]) await bus.publish(stepped, { key: 'p', seq }, { subject: 'p' });
      await pollFor(() => handled.includes(5), { what: 'the step after the invalid one' });
      expect(tries).toBe(4);
      await pollFor(async () => (await highWatermark(dlqTopic(stepped.topic))) === 1, {
        what: 'one dead letter',
      });
      const [dead] = (await metrics.eventsDeadLettered.get()).values.filter(
        (v) => v.labels.topic === stepped.topic,
      );
      expect(dead).toMatchObject({ value: 1, labels: { reason: 'handler-failed' } });
      expect(consumer.waiting()).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it('stops promptly while a partition waits; the waiting message stays uncommitted and the next owner handles it', async () => {
    const stepped = await steppedTopic('handover');
    const Steps = stepsModel();
    const groupId = uniqueName('g');
    const handled: string[] = [];
    const writes = failureCounter();
    const make = (name: string) =>
      bus.consumer({
        groupId,
        waitBackoff: { initialMs: 100, maxMs: 2_000, multiplier: 2, jitter: 'EQUAL' },
        handlers: [
          on(stepped, async (data) => {
            await writes.count(() =>
              Steps.updateOne({ _id: data.key }, { $push: { seqs: data.seq } }, { upsert: true }),
            );
            handled.push(`${name}:${data.seq}`);
          }),
        ],
      });
    const first = make('first');
    await first.start();
    await first.joined();
    await bus.publish(stepped, { key: 'h', seq: 0 }, { subject: 'h' });
    await pollFor(() => handled.length === 1, { what: 'the step before the outage' });
    proxy.cut();
    await bus.publish(stepped, { key: 'h', seq: 1 }, { subject: 'h' });
    await pollFor(() => first.waiting().length === 1 && writes.failures >= 2, {
      what: 'the partition to wait',
    });
    const began = Date.now();
    await first.stop();
    // The fetch in flight (1 s at most) and leaving the group; not the outage.
    expect(Date.now() - began).toBeLessThan(4_000);
    const [committed] = (await admin.fetchOffsets({ groupId, topics: [stepped.topic] }))[0]!.partitions;
    expect(committed!.offset).toBe('1');

    proxy.restore();
    const second = make('second');
    try {
      await second.start();
      await pollFor(() => handled.length === 2, { what: 'the next owner to handle the waiting step' });
      expect(handled).toEqual(['first:0', 'second:1']);
      expect(await highWatermark(dlqTopic(stepped.topic))).toBe(0);
    } finally {
      await second.stop();
    }
  });
});
