import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { orchestrationEvents } from '@waooaw/shared';
import { TaskLedger } from './counting';

export interface RawMessage {
  topic: string;
  partition: number;
  offset: number;
  /** The producer's timestamp (ms since the epoch). */
  timestamp: number;
  value: Buffer | null;
}

type Envelope = { id?: unknown; data?: Record<string, unknown> };

/** The envelope of a platform event, or null for anything else. */
export function envelopeOf(value: Buffer | null): { id: string; data: Record<string, unknown> } | null {
  if (!value) return null;
  try {
    const e = JSON.parse(value.toString()) as Envelope;
    return typeof e.id === 'string' && e.data && typeof e.data === 'object'
      ? { id: e.id, data: e.data }
      : null;
  } catch {
    return null;
  }
}

/** For each topic: the next offset of each of its partitions (by index), as they are now. */
export async function topicEnds(kafka: Kafka, topics: readonly string[]): Promise<Map<string, number[]>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = new Map<string, number[]>();
    for (const topic of topics) {
      const next: number[] = [];
      for (const o of await admin.fetchTopicOffsets(topic)) next[o.partition] = Number(o.high);
      ends.set(topic, next);
    }
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every message of `topics` from the beginning (or from the offsets of `from`: per topic, the first
 * offset to read of each partition) up to their ends as they are when called: the ground truth the
 * run's figures are counted against (read once everything has drained).
 */
export async function readTopics(
  kafka: Kafka,
  topics: string[],
  options: { timeoutMs?: number; from?: ReadonlyMap<string, readonly number[]> } = {},
): Promise<RawMessage[]> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (topics.length === 0) return [];
  const startOf = (topic: string, partition: number) => options.from?.get(topic)?.[partition] ?? 0;
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, number>(); // "topic:partition" -> end offset
  try {
    for (const topic of topics)
      for (const o of await admin.fetchTopicOffsets(topic))
        if (Number(o.high) > Math.max(Number(o.low), startOf(topic, o.partition)))
          remaining.set(`${topic}:${o.partition}`, Number(o.high));
  } finally {
    await admin.disconnect();
  }
  const messages: RawMessage[] = [];
  if (remaining.size === 0) return messages;
  const consumer: Consumer = kafka.consumer({ groupId: `chaos-read-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const k = `${batch.topic}:${batch.partition}`;
        const end = remaining.get(k);
        if (end === undefined) return;
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset < startOf(batch.topic, batch.partition)) continue;
          if (offset >= end) break;
          messages.push({
            topic: batch.topic,
            partition: batch.partition,
            offset,
            timestamp: Number(m.timestamp),
            value: m.value,
          });
          if (offset === end - 1) remaining.delete(k);
        }
        if (remaining.size === 0) done();
      },
    });
    if (options.from)
      for (const key of remaining.keys()) {
        const at = key.lastIndexOf(':');
        const [topic, partition] = [key.slice(0, at), Number(key.slice(at + 1))];
        consumer.seek({ topic, partition, offset: String(startOf(topic, partition)) });
      }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<void>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`reading ${topics.join(', ')} did not reach their ends in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** Every `*.dlq` topic on the broker. */
export async function dlqTopics(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t.endsWith('.dlq')).sort();
  } finally {
    await admin.disconnect();
  }
}

/**
 * The task ledger fed live from the start of the run by a consumer group of its own that commits its
 * offsets: after a broker restart (or its own crash) it resumes where it was rather than at the end,
 * and the ledger counts a re-read event once (by envelope id), so it sees every event exactly once in
 * effect. The drain waits on it; the final figures are read again from the topics (readTopics).
 */
export async function liveLedger(kafka: Kafka, runId: string) {
  const ledger = new TaskLedger();
  const consumer = kafka.consumer({ groupId: `chaos-ledger-${runId}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({
    topics: [orchestrationEvents.taskUpdated.topic, orchestrationEvents.attemptFinished.topic],
    fromBeginning: true,
  });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) feedLedger(ledger, batch.topic, m.value);
    },
  });
  return { ledger, close: () => consumer.disconnect() };
}

/** Passes one message of task.updated or attempt.finished to the ledger. */
export function feedLedger(ledger: TaskLedger, topic: string, value: Buffer | null): void {
  const e = envelopeOf(value);
  if (!e) return;
  const taskId = e.data.taskId;
  if (typeof taskId !== 'string') return;
  if (topic === orchestrationEvents.taskUpdated.topic && typeof e.data.status === 'string')
    ledger.onUpdate(e.id, taskId, e.data.status, typeof e.data.error === 'string' ? e.data.error : null);
  else if (
    topic === orchestrationEvents.attemptFinished.topic &&
    typeof e.data.attempt === 'number' &&
    typeof e.data.outcome === 'string'
  )
    ledger.onAttempt(taskId, e.data.attempt, e.data.outcome);
}
