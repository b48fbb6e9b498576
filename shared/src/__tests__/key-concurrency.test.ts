import type { Admin } from 'kafkajs';
import { z } from 'zod';
import type { Envelope, EventBus, EventDefinition } from '../index';
import { createEventConsumer, defineEvent, dlqTopic, on } from '../index';
import { collectTopic, connectTestBus, pollFor, testLogger, uniqueName, uniqueTopic } from '../testing';

const stepSchema = z.object({ key: z.string(), seq: z.number().int() });
type Stepped = EventDefinition<typeof stepSchema>;

/** Retries in milliseconds rather than the production backoff, so a failing handler cycles fast. */
const fastRetry = { initialMs: 10, maxMs: 40, multiplier: 2, jitter: 'NONE' } as const;

/**
 * Counts handlers running at once, overall and per key. A key's messages must never overlap; with
 * keyConcurrency > 1, messages of different keys must.
 */
function overlapMeter() {
  let inFlight = 0;
  const byKey = new Map<string, number>();
  const meter = {
    maxInFlight: 0,
    maxSameKey: 0,
    async around<T>(key: string, work: () => Promise<T>): Promise<T> {
      inFlight++;
      const sameKey = (byKey.get(key) ?? 0) + 1;
      byKey.set(key, sameKey);
      meter.maxInFlight = Math.max(meter.maxInFlight, inFlight);
      meter.maxSameKey = Math.max(meter.maxSameKey, sameKey);
      try {
        return await work();
      } finally {
        inFlight--;
        byKey.set(key, byKey.get(key)! - 1);
      }
    },
  };
  return meter;
}

describe('consumer handling one batch by key (keyConcurrency) against a real Kafka broker', () => {
  let bus: EventBus;
  let admin: Admin;
  let close: () => Promise<void>;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    ({ bus, admin, close } = await connectTestBus('lanes-test'));
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await close();
  });

  /** A one-partition topic, so the whole stream is one ordered log and offsets are easy to reason about. */
  const newTopic = async (): Promise<Stepped> => {
    const stepped = defineEvent(uniqueTopic('lane', 'stepped'), stepSchema);
    await bus.ensureTopics([{ topic: stepped.topic, partitions: 1 }]);
    return stepped;
  };

  /** Published in one produce request, so the consumer fetches them as one batch. */
  const publishKeys = (stepped: Stepped, keys: string[]) =>
    bus.publishAll(
      stepped,
      keys.map((key, seq) => ({ data: { key, seq }, options: { subject: key } })),
    );

  /** Asked of the broker, where the group and topic carry the test run's namespace. */
  const committed = async (groupId: string, topic: string) =>
    (await admin.fetchOffsets({ groupId: bus.groupId(groupId), topics: [bus.topic(topic)] }))[0]!
      .partitions[0]!.offset;

  const seqsOf = (handled: { key: string; seq: number }[], key: string) =>
    handled.filter((h) => h.key === key).map((h) => h.seq);

  it('handles different keys side by side, at most keyConcurrency at once, each key in order', async () => {
    const stepped = await newTopic();
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const published = Array.from({ length: 5 }, () => keys).flat();
    await publishKeys(stepped, published);

    const meter = overlapMeter();
    const handled: { key: string; seq: number }[] = [];
    const groupId = uniqueName('g');
    const consumer = bus.consumer({
      groupId,
      keyConcurrency: 4,
      handlers: [
        on(stepped, (data) =>
          meter.around(data.key, async () => {
            // Each handler waits (like a database call) until four have been seen running at once:
            // immediate when keys overlap; a consumer that handles one at a time never gets there and
            // fails the assertion below after the bounded wait.
            await pollFor(() => meter.maxInFlight >= 4, { timeoutMs: 1000, intervalMs: 5 }).catch(
              () => undefined,
            );
            handled.push(data);
          }),
        ),
      ],
    });
    stops.push(() => consumer.stop());
    await consumer.start();

    await pollFor(() => handled.length >= published.length, { what: 'every message handled' });
    expect(meter.maxInFlight).toBe(4);
    expect(meter.maxSameKey).toBe(1);
    for (const key of keys) {
      const expected = published.flatMap((k, seq) => (k === key ? [seq] : []));
      expect([key, seqsOf(handled, key)]).toEqual([key, expected]);
    }
    expect(handled).toHaveLength(published.length);
    await pollFor(async () => (await committed(groupId, stepped.topic)) === String(published.length), {
      what: 'the offset committed past the last message',
    });
  });

  it('skips messages whose key acceptKey refuses, unparsed, and still commits past them', async () => {
    const stepped = await newTopic();
    const published = ['support.1', 'other.1', 'support.2', 'other.2', 'other.3'];
    await publishKeys(stepped, published);
    // Not an envelope at all: with a refused key it is skipped, not dead-lettered.
    await bus.sendRaw(stepped.topic, [{ key: 'other.raw', value: 'not json' }]);
    const handled: { key: string; seq: number }[] = [];
    const groupId = uniqueName('g');
    const consumer = bus.consumer({
      groupId,
      acceptKey: (key) => key.startsWith('support.'),
      handlers: [
        on(stepped, async (data) => {
          handled.push(data);
          await Promise.resolve();
        }),
      ],
    });
    stops.push(() => consumer.stop());
    await consumer.start();
    await pollFor(async () => (await committed(groupId, stepped.topic)) === String(published.length + 1), {
      what: 'the offset committed past every message',
    });
    expect(handled).toEqual([
      { key: 'support.1', seq: 0 },
      { key: 'support.2', seq: 2 },
    ]);
    const dlq = await admin.fetchTopicOffsets(bus.topic(dlqTopic(stepped.topic))).catch(() => []);
    expect(dlq.every((p) => p.high === '0')).toBe(true);
  });

  it('commits only up to the first message not yet handled; a restarted consumer resumes there', async () => {
    const stepped = await newTopic();
    // Offsets 0..9. Key a's second message (offset 3) keeps failing while its downstream is down.
    const published = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'd'];
    await publishKeys(stepped, published);
    const groupId = uniqueName('g');
    let downstreamUp = false;
    let failedTries = 0;
    const handlerInto = (handled: { key: string; seq: number }[]) =>
      on(stepped, async (data) => {
        if (data.seq === 3 && !downstreamUp) {
          failedTries++;
          throw new Error('downstream unavailable');
        }
        handled.push(data);
      });

    const firstRun: { key: string; seq: number }[] = [];
    const first = bus.consumer({
      groupId,
      keyConcurrency: 4,
      maxAttempts: 1000,
      retryBackoff: fastRetry,
      handlers: [handlerInto(firstRun)],
    });
    stops.push(() => first.stop());
    await first.start();
    // Every other key finishes the batch while offset 3 is being retried.
    await pollFor(() => firstRun.length === 8 && failedTries >= 3, {
      what: 'the other keys handled while offset 3 is retried',
    });
    expect(firstRun.map((h) => h.seq).sort((x, y) => x - y)).toEqual([0, 1, 2, 4, 5, 7, 8, 9]);
    // Key a's next message waits behind the failing one.
    expect(seqsOf(firstRun, 'a')).toEqual([0]);

    // The process stops while offset 3 is still failing: what it committed is 0..2, nothing past 3
    // although 4, 5 and 7..9 were handled.
    await first.stop();
    expect(await committed(groupId, stepped.topic)).toBe('3');
    expect(seqsOf(firstRun, 'a')).toEqual([0]);

    // A new consumer of the group starts at offset 3: nothing the first one left unhandled is lost,
    // and what it had handled after 3 comes again (at-least-once; handlers are idempotent).
    downstreamUp = true;
    const secondRun: { key: string; seq: number }[] = [];
    const second = bus.consumer({ groupId, keyConcurrency: 4, handlers: [handlerInto(secondRun)] });
    stops.push(() => second.stop());
    await second.start();
    await pollFor(() => secondRun.length >= 7, { what: 'the messages from offset 3 on' });
    expect(secondRun.map((h) => h.seq).sort((x, y) => x - y)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(seqsOf(secondRun, 'a')).toEqual([3, 6]);
    const everHandled = new Set([...firstRun, ...secondRun].map((h) => h.seq));
    expect(everHandled.size).toBe(published.length);
    await pollFor(async () => (await committed(groupId, stepped.topic)) === '10', {
      what: 'the offset committed to the end',
    });
  });

  it('dead-letters a message that keeps failing and then moves on past it, in key order', async () => {
    const stepped = await newTopic();
    const published = ['a', 'b', 'a', 'b', 'a', 'b'];
    await publishKeys(stepped, published);
    const dlq = await collectTopic(dlqTopic(stepped.topic));
    stops.push(dlq.stop);
    const groupId = uniqueName('g');
    const handled: { key: string; seq: number }[] = [];
    const consumer = bus.consumer({
      groupId,
      keyConcurrency: 2,
      maxAttempts: 3,
      retryBackoff: fastRetry,
      handlers: [
        on(stepped, async (data) => {
          if (data.seq === 2) throw new Error('always fails');
          handled.push(data);
        }),
      ],
    });
    stops.push(() => consumer.stop());
    await consumer.start();

    await pollFor(async () => (await committed(groupId, stepped.topic)) === '6', {
      what: 'the offset committed past the dead-lettered message',
    });
    expect(seqsOf(handled, 'a')).toEqual([0, 4]);
    expect(seqsOf(handled, 'b')).toEqual([1, 3, 5]);
    const [dead] = await pollFor(() => dlq.messages.length === 1 && dlq.messages, {
      what: 'one dead letter',
    });
    expect(dead!.headers!['x-dlq-attempts']!.toString()).toBe('3');
    expect(dead!.headers!['x-dlq-source-offset']!.toString()).toBe('2');
    expect((JSON.parse(dead!.value!.toString()) as Envelope<{ seq: number }>).data.seq).toBe(2);
  });

  it('re-fetches a batch whose dead letter could not be written without running a key twice at once', async () => {
    const stepped = await newTopic();
    // b0, then a poison message of key a, then b's next four.
    const published = ['b', 'a', 'b', 'b', 'b', 'b'];
    await publishKeys(stepped, published);
    const dlq = await collectTopic(dlqTopic(stepped.topic));
    stops.push(dlq.stop);
    const groupId = uniqueName('g');
    let dlqUp = false;
    let poisonTries = 0;
    const meter = overlapMeter();
    const handled: { key: string; seq: number }[] = [];
    // The DLQ's producer is down at first (a plain Error: kafkajs retries the batch). Built without
    // the bus, so named as on the broker, as the bus would.
    const consumer = createEventConsumer(
      bus.kafka,
      {
        groupId: bus.groupId(groupId),
        keyConcurrency: 2,
        maxAttempts: 1,
        handlers: [
          on({ ...stepped, topic: bus.topic(stepped.topic) }, (data) =>
            meter.around(data.key, async () => {
              if (data.key === 'a') {
                poisonTries++;
                throw new Error('poison');
              }
              // b's handler is slow while the poison message has failed only once, so a batch that
              // ended before its workers did would let the re-fetched batch run key b next to it.
              await pollFor(() => poisonTries >= 2, { timeoutMs: 1500, intervalMs: 5 }).catch(
                () => undefined,
              );
              handled.push(data);
            }),
          ),
        ],
      },
      {
        service: 'test',
        logger: testLogger(),
        ensureTopics: () => bus.ensureTopics([stepped.topic]),
        sendRaw: async (topic, messages) => {
          if (!dlqUp) throw new Error('dead-letter topic unavailable');
          expect(topic).toBe(bus.topic(dlqTopic(stepped.topic)));
          await bus.sendRaw(dlqTopic(stepped.topic), messages);
        },
      },
    );
    stops.push(() => consumer.stop());
    await consumer.start();

    await pollFor(() => poisonTries >= 3, { what: 'the batch fetched again twice' });
    expect(meter.maxSameKey).toBe(1);
    // What was handled before the failing message is committed even though the batch failed.
    await pollFor(async () => (await committed(groupId, stepped.topic)) === '1', {
      what: 'offset 0 committed while the batch keeps failing',
    });
    dlqUp = true;
    await pollFor(async () => (await committed(groupId, stepped.topic)) === '6', {
      what: 'the offset committed to the end once the dead letter is written',
    });
    const [dead] = await pollFor(() => dlq.messages.length >= 1 && dlq.messages, { what: 'the dead letter' });
    expect(dead!.headers!['x-dlq-source-offset']!.toString()).toBe('1');
    expect(meter.maxSameKey).toBe(1);
    // Re-deliveries repeat a prefix of b's messages, never reorder them.
    const firstSeen = [...new Set(seqsOf(handled, 'b'))];
    expect(firstSeen).toEqual([0, 2, 3, 4, 5]);
    expect(consumer.status()).toBe('running');
  });
});
