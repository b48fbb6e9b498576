import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import type { EventBus } from '@waooaw/shared';
import { waitForLeaders } from '@waooaw/shared';

export const CEILING_TOPIC = 'bench.ceiling';

export interface CeilingResult {
  msgsPerS: number;
  messageBytes: number;
  messages: number;
}

/**
 * The raw ceiling: kafkajs alone producing `messages` messages of `messageBytes` bytes to a topic of
 * the same broker (same producer settings as the platform: idempotent, acks=all, one request in
 * flight; batches of `batch`) while one consumer reads them. msgs/s = messages over the time from
 * the first send to the last message consumed. The topic and group are in the bus's namespace.
 */
export async function measureCeiling(
  bus: Pick<EventBus, 'kafka' | 'topic' | 'groupId'>,
  options: { messages: number; messageBytes: number; batch?: number; partitions?: number; runId: string },
): Promise<CeilingResult> {
  const { kafka } = bus;
  const topic = bus.topic(CEILING_TOPIC);
  const { messages, messageBytes } = options;
  const batch = options.batch ?? 100;
  const admin = kafka.admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes(topic))
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: options.partitions ?? 3 }],
      })
      .catch(() => undefined);
  // createTopics' own wait can time out on a busy machine, and producing before the leaders are
  // elected fails with "not the leader for that topic-partition".
  await waitForLeaders(admin, [topic]);
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();

  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({
    groupId: bus.groupId(`bench-ceiling-${options.runId}`),
    maxWaitTimeInMs: 100,
  });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic, fromBeginning: false });
  let received = 0;
  let lastAt = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let joined!: () => void;
  const isJoined = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch: b }) => {
      received += b.messages.length;
      lastAt = performance.now();
      if (received >= messages) done();
    },
  });
  for (const o of ends) consumer.seek({ topic, partition: o.partition, offset: o.high });
  await isJoined;

  const payload = randomBytes(Math.max(1, Math.floor(messageBytes * 0.75)))
    .toString('base64')
    .slice(0, messageBytes);
  const start = performance.now();
  for (let sent = 0; sent < messages; sent += batch) {
    const n = Math.min(batch, messages - sent);
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, k) => ({ key: `k-${sent + k}`, value: payload })),
    });
  }
  await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 120_000))]);
  const seconds = ((received >= messages ? lastAt : performance.now()) - start) / 1000;
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  // The topic only ever holds the bench's filler: leave nothing behind on the broker.
  const cleanup = kafka.admin();
  await cleanup.connect();
  await cleanup.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await cleanup.disconnect();
  return { msgsPerS: Math.round(Math.min(received, messages) / seconds), messageBytes, messages };
}
