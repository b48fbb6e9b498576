import type { Admin, Kafka } from 'kafkajs';
import { z } from 'zod';
import type { EventBus } from '../index';
import { createEventConsumer, defineEvent, on } from '../index';
import { connectTestBus, pollFor, testLogger, uniqueName, uniqueTopic } from '../testing';

const stepSchema = z.object({ seq: z.number().int() });

/** The bus's Kafka client, with every commit request a consumer makes counted. */
function countingCommits(kafka: Kafka) {
  const counter = { commits: 0 };
  const kafkaWithCount = {
    consumer: (config: Parameters<Kafka['consumer']>[0]) => {
      const consumer = kafka.consumer(config);
      const commit = consumer.commitOffsets.bind(consumer);
      consumer.commitOffsets = (offsets) => {
        counter.commits++;
        return commit(offsets);
      };
      return consumer;
    },
  } as unknown as Kafka;
  return { kafka: kafkaWithCount, counter };
}

describe('consumer offset commits against a real Kafka broker', () => {
  let bus: EventBus;
  let admin: Admin;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ bus, admin, close } = await connectTestBus('commits-test'));
  });

  afterAll(async () => {
    await close();
  });

  /** Asked of the broker, where the group and topic carry the test run's namespace. */
  const committed = async (groupId: string, topic: string) =>
    (await admin.fetchOffsets({ groupId: bus.groupId(groupId), topics: [bus.topic(topic)] }))[0]!
      .partitions[0]!.offset;

  it('commits handled messages together, not once per fetch; an idle tail within a second or two; all of it on stop', async () => {
    const stepped = defineEvent(uniqueTopic('commits', 'stepped'), stepSchema);
    await bus.ensureTopics([{ topic: stepped.topic, partitions: 1 }]);
    const groupId = uniqueName('g');
    const handled: number[] = [];
    const { kafka, counter } = countingCommits(bus.kafka);
    // Built without the bus (to count its commits), so named as on the broker, as the bus would.
    const consumer = createEventConsumer(
      kafka,
      {
        groupId: bus.groupId(groupId),
        handlers: [
          on({ ...stepped, topic: bus.topic(stepped.topic) }, async (data) => {
            handled.push(data.seq);
            await Promise.resolve();
          }),
        ],
      },
      {
        service: 'test',
        logger: testLogger(),
        sendRaw: () => Promise.reject(new Error('nothing is dead-lettered here')),
        ensureTopics: () => bus.ensureTopics([stepped.topic]),
      },
    );
    await consumer.start();
    await consumer.joined();

    // One at a time, each handled before the next is sent: every message is a fetch of its own.
    for (let seq = 0; seq < 30; seq++) {
      await bus.publish(stepped, { seq }, { subject: `k${seq}` });
      await pollFor(() => handled.length === seq + 1, { what: `message ${seq} handled` });
    }
    expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // kafkajs's autoCommit sent one commit per fetched batch (30 here); commits now leave at most
    // once a second (or per 1000 messages), and the timer commits the tail with nothing more arriving.
    await pollFor(async () => (await committed(groupId, stepped.topic)) === '30', {
      what: 'the idle tail committed',
    });
    const whileRunning = counter.commits;
    expect(whileRunning).toBeGreaterThanOrEqual(1);
    expect(whileRunning).toBeLessThanOrEqual(8);

    // Handled just before stop: committed by the stop itself, not lost to a restart.
    for (let seq = 30; seq < 35; seq++) await bus.publish(stepped, { seq }, { subject: `k${seq}` });
    await pollFor(() => handled.length === 35, { what: 'the last five handled' });
    await consumer.stop();
    expect(await committed(groupId, stepped.topic)).toBe('35');
  });
});
