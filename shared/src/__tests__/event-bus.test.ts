import { z } from 'zod';
import type { Envelope, EventBus } from '../index';
import {
  createEventBus,
  createMetrics,
  defineEvent,
  dlqTopic,
  InvalidEventError,
  on,
  traceIdOf,
} from '../index';
import {
  collectTopic,
  connectTestBus,
  pollFor,
  testInfra,
  testKafka,
  testLogger,
  uniqueName,
  uniqueTopic,
} from '../testing';

const orderSchema = z.object({ orderId: z.string(), amount: z.number().int().positive() });

describe('event bus against a real Kafka broker', () => {
  let bus: EventBus;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    bus = createEventBus({ ...testKafka(), service: 'bus-test', logger: testLogger() });
    await bus.connect();
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await bus.disconnect();
  });

  const newEvent = () => defineEvent(uniqueTopic('order', 'created'), orderSchema);

  it('round-trips a validated CloudEvents envelope, keyed by subject, continuing the trace', async () => {
    const created = newEvent();
    const received: Envelope<z.output<typeof orderSchema>>[] = [];
    const consumer = bus.consumer({
      groupId: uniqueName('g'),
      handlers: [on(created, async (_data, envelope) => void received.push(envelope))],
    });
    stops.push(() => consumer.stop());
    await bus.ensureTopics([created.topic]);
    const raw = await collectTopic(created.topic);
    stops.push(raw.stop);
    await consumer.start();

    const callerTrace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const sent = await bus.publish(
      created,
      { orderId: 'o-1', amount: 42 },
      { subject: 'o-1', traceparent: callerTrace },
    );

    const [got] = await pollFor(() => received.length === 1 && received, { what: 'the event to be handled' });
    expect(got).toMatchObject({
      specversion: '1.0',
      id: sent.id,
      source: '/waooaw/bus-test',
      type: created.type,
      subject: 'o-1',
      datacontenttype: 'application/json',
      data: { orderId: 'o-1', amount: 42 },
    });
    expect(Date.parse(got!.time)).not.toBeNaN();
    expect(traceIdOf(got!.traceparent)).toBe('0af7651916cd43dd8448eb211c80319c');

    const [message] = await pollFor(() => raw.messages.length > 0 && raw.messages);
    expect(message!.key?.toString()).toBe('o-1');
    expect(message!.headers?.traceparent?.toString()).toBe(got!.traceparent);
    expect(message!.headers?.['content-type']?.toString()).toContain('application/cloudevents+json');
  });

  it('keeps a namespace on the broker: topics, dead-letter topics and groups prefixed, handlers see plain topics', async () => {
    const { namespace } = testInfra();
    const created = newEvent();
    const groupId = uniqueName('g');
    const seen: string[] = [];
    const consumer = bus.consumer({
      groupId,
      handlers: [on(created, async (_data, _envelope, context) => void seen.push(context.topic))],
    });
    stops.push(() => consumer.stop());
    await consumer.start();
    await consumer.joined();
    await bus.publish(created, { orderId: 'o-ns', amount: 1 });
    await pollFor(() => seen.length === 1, { what: 'the event handled' });
    expect(seen).toEqual([created.topic]);

    const { admin, close } = await connectTestBus('bus-namespace-test');
    try {
      const topics = await admin.listTopics();
      expect(bus.topic(created.topic)).toBe(`${namespace}.${created.topic}`);
      expect(topics).toEqual(
        expect.arrayContaining([`${namespace}.${created.topic}`, `${namespace}.${created.topic}.dlq`]),
      );
      expect(topics.filter((t) => t === created.topic || t === dlqTopic(created.topic))).toEqual([]);
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      expect(groups).toContain(`${namespace}.${groupId}`);
      expect(groups).not.toContain(groupId);
    } finally {
      await close();
    }
  });

  it('lets several processes create the same topics at once (services starting together)', async () => {
    const topics = [newEvent().topic, newEvent().topic, newEvent().topic];
    const others = Array.from({ length: 4 }, (_, i) =>
      createEventBus({ ...testKafka(), service: `bus-race-${i}`, logger: testLogger() }),
    );
    try {
      await Promise.all(others.map((b) => b.ensureTopics(topics)));
      const admin = bus.kafka.admin();
      await admin.connect();
      const listed = await admin.listTopics();
      await admin.disconnect();
      for (const topic of topics)
        expect([
          topic,
          listed.includes(bus.topic(topic)),
          listed.includes(bus.topic(dlqTopic(topic))),
        ]).toEqual([topic, true, true]);
    } finally {
      await Promise.all(others.map((b) => b.disconnect()));
    }
  });

  it('publishes many events of a type in one request, each its own envelope', async () => {
    const created = newEvent();
    await bus.ensureTopics([created.topic]);
    const raw = await collectTopic(created.topic);
    stops.push(raw.stop);
    const sent = await bus.publishAll(created, [
      { data: { orderId: 'a', amount: 1 }, options: { subject: 'a' } },
      { data: { orderId: 'b', amount: 2 }, options: { subject: 'b' } },
    ]);
    expect(new Set(sent.map((e) => e.id)).size).toBe(2);
    await pollFor(() => raw.messages.length === 2, { what: 'both messages' });
    expect(raw.messages.map((m) => m.key?.toString()).sort()).toEqual(['a', 'b']);
    await expect(bus.publishAll(created, [{ data: { orderId: 'c', amount: -1 } }])).rejects.toThrow();
  });

  it('counts the requests its clients send to Kafka, by API: one Produce for a batch of events', async () => {
    const metrics = createMetrics('bus-requests-test');
    const counted = createEventBus({
      ...testKafka(),
      service: 'bus-requests-test',
      logger: testLogger(),
      metrics,
    });
    stops.push(() => counted.disconnect());
    const created = newEvent();
    await counted.ensureTopics([created.topic]);
    await counted.connect();
    const requests = async (api: string) =>
      (await metrics.registry.getSingleMetric('waooaw_kafka_requests_total')!.get()).values.find(
        (v) => v.labels.api === api,
      )?.value ?? 0;
    const before = await requests('Produce');
    await counted.publishAll(
      created,
      Array.from({ length: 20 }, (_, i) => ({
        data: { orderId: `r${i}`, amount: i + 1 },
        options: { subject: 'r' },
      })),
    );
    // Twenty events of one key: one request to one partition's leader.
    expect((await requests('Produce')) - before).toBe(1);
    // The admin that created the topic asked for metadata first: every client is counted.
    expect(await requests('Metadata')).toBeGreaterThan(0);
  });

  it('refuses to publish data that breaks the event schema', async () => {
    const created = newEvent();
    await expect(bus.publish(created, { orderId: 'o-2', amount: -5 })).rejects.toThrow(InvalidEventError);
    await expect(bus.publish(created, { orderId: 'o-2', amount: -5 })).rejects.toThrow(/amount/);
  });

  it('sends poison messages to the DLQ with the error and keeps consuming', async () => {
    const created = newEvent();
    const handled: string[] = [];
    await bus.ensureTopics([created.topic]);
    const consumer = bus.consumer({
      groupId: uniqueName('g'),
      handlers: [on(created, async (data) => void handled.push(data.orderId))],
    });
    stops.push(() => consumer.stop());
    const dlq = await collectTopic(dlqTopic(created.topic));
    stops.push(dlq.stop);
    await consumer.start();

    await bus.sendRaw(created.topic, [{ key: 'bad-json', value: '{not json' }]);
    // A valid envelope whose data breaks the schema.
    const invalid = {
      specversion: '1.0',
      id: 'x-1',
      source: '/test',
      type: created.type,
      time: new Date().toISOString(),
      data: { orderId: 7 },
    };
    await bus.sendRaw(created.topic, [{ key: 'bad-data', value: JSON.stringify(invalid) }]);
    await bus.sendRaw(created.topic, [{ key: 'not-an-event', value: JSON.stringify({ hello: 'world' }) }]);
    await bus.publish(created, { orderId: 'good', amount: 1 }, { subject: 'good' });

    await pollFor(() => handled.includes('good'), { what: 'the valid event after the poison ones' });
    const dead = await pollFor(() => dlq.messages.length === 3 && dlq.messages, {
      what: 'three dead letters',
    });
    const byKey = new Map(dead.map((m) => [m.key!.toString(), m]));
    expect(byKey.get('bad-json')!.headers!['x-dlq-reason']!.toString()).toBe('unparseable');
    expect(byKey.get('bad-json')!.value!.toString()).toBe('{not json');
    expect(byKey.get('bad-data')!.headers!['x-dlq-reason']!.toString()).toBe('invalid-data');
    expect(byKey.get('bad-data')!.headers!['x-dlq-error']!.toString()).toMatch(/orderId/);
    expect(byKey.get('not-an-event')!.headers!['x-dlq-reason']!.toString()).toBe('invalid-envelope');
    // The topic as on the broker, where a replay sends it back to.
    expect(byKey.get('bad-json')!.headers!['x-dlq-source-topic']!.toString()).toBe(bus.topic(created.topic));
    expect(handled).toEqual(['good']);
    expect(consumer.status()).toBe('running');
  });

  it('retries a failing handler with backoff, then dead-letters it and moves on', async () => {
    const created = newEvent();
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    await bus.ensureTopics([created.topic]);
    const consumer = bus.consumer({
      groupId: uniqueName('g'),
      maxAttempts: 3,
      retryBackoff: { initialMs: 10, maxMs: 50, multiplier: 2, jitter: 'NONE' },
      handlers: [
        on(created, async (data) => {
          const n = (attempts.get(data.orderId) ?? 0) + 1;
          attempts.set(data.orderId, n);
          if (data.orderId === 'always-fails') throw new Error('downstream unavailable');
          if (data.orderId === 'flaky' && n < 2) throw new Error('transient');
          handled.push(data.orderId);
        }),
      ],
    });
    stops.push(() => consumer.stop());
    const dlq = await collectTopic(dlqTopic(created.topic));
    stops.push(dlq.stop);
    await consumer.start();

    for (const orderId of ['always-fails', 'flaky', 'after']) {
      await bus.publish(created, { orderId, amount: 1 }, { subject: 'same-key' });
    }
    await pollFor(() => handled.includes('after'), { what: 'the message after the failing one' });
    expect(handled).toEqual(['flaky', 'after']);
    expect(attempts.get('always-fails')).toBe(3);
    expect(attempts.get('flaky')).toBe(2);
    const [dead] = await pollFor(() => dlq.messages.length === 1 && dlq.messages);
    expect(dead!.headers!['x-dlq-reason']!.toString()).toBe('handler-failed');
    expect(dead!.headers!['x-dlq-attempts']!.toString()).toBe('3');
    expect(dead!.headers!['x-dlq-error']!.toString()).toContain('downstream unavailable');
    expect((JSON.parse(dead!.value!.toString()) as Envelope<{ orderId: string }>).data.orderId).toBe(
      'always-fails',
    );
  });
});
