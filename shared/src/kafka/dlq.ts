import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import { dlqTopic } from './events';
import { headerValues } from './envelope';
import { logicalTopic, namespacedTopic } from '../namespace';

/**
 * Dead letters, operable: list the `<topic>.dlq` topics and their messages, show one, and replay them
 * to the topic they came from (see `npm run dlq`).
 *
 * What has been replayed is kept in Kafka itself, as the committed offsets of the consumer group
 * `waooaw-dlq-replay.<dlq topic>` (replayGroup) on its dead-letter topic: everything below the
 * committed offset has been replayed (or had nowhere to go), so its lag is exactly what still waits,
 * in any Kafka tool, and two operators replaying at once split the partitions rather than both
 * sending them. A group per topic, because kafkajs's assigner hands every member partitions of every
 * topic any member subscribed: replays of two topics in one group would each wait for the other's. Replays out of order (one
 * dead letter by `--offset`, or only one consumer group's by `--group`) are recorded in the commit's
 * metadata as the offsets above the mark already replayed; the mark moves over them once the gap
 * below is replayed. A crash between sending and committing sends those again on the next replay:
 * handlers are idempotent (CloudEvents ids), so that is safe.
 */
export const REPLAY_GROUP_PREFIX = 'waooaw-dlq-replay.';
/** The consumer group whose committed offsets on a dead-letter topic mark what has been replayed. */
export const replayGroup = (dlqTopicName: string) => `${REPLAY_GROUP_PREFIX}${dlqTopicName}`;

/** Headers the consumer adds when it dead-letters a message (see consumer.ts dlqHeaders). */
export const DLQ_HEADER_PREFIX = 'x-dlq-';
/** Set on a replayed message: the dead letter it came from, `<dlq topic>/<partition>/<offset>`. */
export const REPLAYED_FROM_HEADER = 'x-replayed-from';

/** Offset-commit metadata must fit the broker's offset.metadata.max.bytes (4096 by default). */
const MAX_METADATA_CHARS = 3_500;
/** How long a read may take before the CLI gives up (the broker answers in milliseconds). */
const READ_TIMEOUT_MS = 30_000;
/** Replayed messages leave in requests of at most this many bytes, each followed by a commit. */
const MAX_REPLAY_BATCH_BYTES = 512 * 1024;

/** A usage or lookup problem the operator can fix (the CLI exits 2 or 3 with the message). */
export class DlqError extends Error {
  constructor(
    message: string,
    readonly kind: 'usage' | 'not-found',
  ) {
    super(message);
    this.name = 'DlqError';
  }
}

export interface DeadLetter {
  dlqTopic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** When it was written to the dead-letter topic (the Kafka timestamp, ISO 8601). */
  timestamp: string;
  /** Every header, decoded as UTF-8. */
  headers: Record<string, string>;
  source?: { topic: string; partition: number; offset: string };
  group?: string;
  reason?: string;
  error?: string;
  attempts?: number;
  failedAt?: string;
  replayed: boolean;
  value: Buffer | null;
}

export interface DlqPartitionState {
  partition: number;
  /** The first offset still stored (retention removes older ones). */
  low: string;
  /** The next offset to be written. */
  high: string;
  /** Everything below this has been replayed. */
  replayedBelow: string;
  /** Offsets at or above `replayedBelow` replayed out of order. */
  replayedAlso: string[];
}

export interface DlqTopicSummary {
  topic: string;
  sourceTopic: string;
  /** Dead letters stored. */
  count: number;
  /** Of those, not replayed yet. */
  pending: number;
  partitions: DlqPartitionState[];
}

export interface ReplayResult {
  topic: string;
  replayed: { partition: number; offset: string; to: string }[];
  skipped: { partition: number; offset: string; why: string }[];
}

/**
 * The dead-letter topic an operator means by `orders.created` or `orders.created.dlq`, in the
 * namespace (WAOOAW_NAMESPACE) unless the name given carries it already.
 */
export function resolveDlqTopic(topic: string, namespace = ''): string {
  const named = namespacedTopic(namespace, logicalTopic(namespace, topic));
  return named.endsWith('.dlq') ? named : dlqTopic(named);
}

/** "3,7-9" for [3, 7, 8, 9]: out-of-order replays, compact enough for the commit metadata. */
export function formatRanges(offsets: Iterable<bigint>): string {
  const sorted = [...new Set(offsets)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1n) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function parseRanges(text: string): bigint[] {
  const offsets: bigint[] = [];
  for (const part of text.split(',').filter(Boolean)) {
    const [from, to = from] = part.split('-');
    for (let o = BigInt(from!); o <= BigInt(to!); o++) offsets.push(o);
  }
  return offsets;
}

/** The replay bookkeeping of one partition: the mark and the out-of-order replays above it. */
class ReplayMark {
  constructor(
    public below: bigint,
    readonly also: Set<bigint>,
  ) {}

  static parse(offset: string, metadata: string | null, low: bigint): ReplayMark {
    let also: bigint[] = [];
    if (metadata) {
      try {
        const parsed = JSON.parse(metadata) as { also?: unknown };
        if (typeof parsed.also === 'string') also = parseRanges(parsed.also);
      } catch {
        // Not ours: a mark without out-of-order replays.
      }
    }
    const committed = BigInt(offset);
    const mark = new ReplayMark(committed < 0n ? low : committed > low ? committed : low, new Set(also));
    mark.normalise();
    return mark;
  }

  has(offset: bigint) {
    return offset < this.below || this.also.has(offset);
  }

  add(offset: bigint) {
    if (offset >= this.below) this.also.add(offset);
    this.normalise();
  }

  /** Moves the mark over replays that now continue it, and forgets those below it. */
  normalise() {
    while (this.also.delete(this.below)) this.below++;
    for (const o of this.also) if (o < this.below) this.also.delete(o);
  }

  metadata(): string | null {
    if (this.also.size === 0) return null;
    const text = JSON.stringify({ also: formatRanges(this.also) });
    if (text.length > MAX_METADATA_CHARS)
      throw new Error(
        `too many dead letters were replayed out of order to record (${this.also.size}); ` +
          'replay the topic without --offset/--group so the mark can move over them',
      );
    return text;
  }
}

async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Offsets and replay marks of the given dead-letter topics, read without joining any group. */
async function partitionStates(admin: Admin, topics: string[]): Promise<Map<string, DlqPartitionState[]>> {
  const states = new Map<string, DlqPartitionState[]>();
  if (topics.length === 0) return states;
  // Several topics at a time: a broker with many topics answers each quickly.
  for (let i = 0; i < topics.length; i += 20) {
    await Promise.all(
      topics.slice(i, i + 20).map(async (topic) => {
        const [offsets, committed] = await Promise.all([
          admin.fetchTopicOffsets(topic),
          admin.fetchOffsets({ groupId: replayGroup(topic), topics: [topic] }),
        ]);
        const byTopic = new Map(committed.map((t) => [t.topic, t.partitions]));
        states.set(
          topic,
          offsets
            .map((p) => {
              const c = byTopic.get(topic)?.find((x) => x.partition === p.partition);
              const mark = ReplayMark.parse(c?.offset ?? '-1', c?.metadata ?? null, BigInt(p.low));
              const high = BigInt(p.high);
              return {
                partition: p.partition,
                low: p.low,
                high: p.high,
                replayedBelow: (mark.below < high ? mark.below : high).toString(),
                replayedAlso: [...mark.also].filter((o) => o < high).map(String),
              };
            })
            .sort((a, b) => a.partition - b.partition),
        );
      }),
    );
  }
  return states;
}

const stored = (p: DlqPartitionState) => Number(BigInt(p.high) - BigInt(p.low));
const pendingIn = (p: DlqPartitionState) =>
  Number(BigInt(p.high) - BigInt(p.replayedBelow)) - p.replayedAlso.length;

async function requireTopic(admin: Admin, topic: string) {
  if (!(await admin.listTopics()).includes(topic))
    throw new DlqError(
      `there is no dead-letter topic ${topic}; \`npm run dlq -- list\` shows them`,
      'not-found',
    );
}

function summarise(topic: string, partitions: DlqPartitionState[]): DlqTopicSummary {
  return {
    topic,
    sourceTopic: topic.slice(0, -'.dlq'.length),
    count: partitions.reduce((n, p) => n + stored(p), 0),
    pending: partitions.reduce((n, p) => n + pendingIn(p), 0),
    partitions,
  };
}

/** One dead-letter topic counted: stored, not yet replayed, per partition. */
export async function describeDeadLetterTopic(kafka: Kafka, topic: string): Promise<DlqTopicSummary> {
  return withAdmin(kafka, async (admin) => {
    await requireTopic(admin, topic);
    return summarise(topic, (await partitionStates(admin, [topic])).get(topic) ?? []);
  });
}

/** Every `*.dlq` topic (of the namespace, if one is given) with its dead letters counted. */
export async function listDeadLetterTopics(
  kafka: Kafka,
  options: { namespace?: string } = {},
): Promise<DlqTopicSummary[]> {
  return withAdmin(kafka, async (admin) => {
    const topics = (await admin.listTopics())
      .filter((t) => t.endsWith('.dlq') && (!options.namespace || t.startsWith(`${options.namespace}.`)))
      .sort();
    const states = await partitionStates(admin, topics);
    return topics.map((topic) => summarise(topic, states.get(topic) ?? []));
  });
}

function toDeadLetter(
  topic: string,
  partition: number,
  message: KafkaMessage,
  mark?: ReplayMark,
): DeadLetter {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {}))
    headers[name] = headerValues(value).join(', ');
  const sourceTopic = headers[`${DLQ_HEADER_PREFIX}source-topic`];
  const attempts = headers[`${DLQ_HEADER_PREFIX}attempts`];
  return {
    dlqTopic: topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : null,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    headers,
    ...(sourceTopic
      ? {
          source: {
            topic: sourceTopic,
            partition: Number(headers[`${DLQ_HEADER_PREFIX}source-partition`] ?? -1),
            offset: headers[`${DLQ_HEADER_PREFIX}source-offset`] ?? '',
          },
        }
      : {}),
    ...(headers[`${DLQ_HEADER_PREFIX}consumer-group`]
      ? { group: headers[`${DLQ_HEADER_PREFIX}consumer-group`] }
      : {}),
    ...(headers[`${DLQ_HEADER_PREFIX}reason`] ? { reason: headers[`${DLQ_HEADER_PREFIX}reason`] } : {}),
    ...(headers[`${DLQ_HEADER_PREFIX}error`] ? { error: headers[`${DLQ_HEADER_PREFIX}error`] } : {}),
    ...(attempts ? { attempts: Number(attempts) } : {}),
    ...(headers[`${DLQ_HEADER_PREFIX}failed-at`]
      ? { failedAt: headers[`${DLQ_HEADER_PREFIX}failed-at`] }
      : {}),
    replayed: mark?.has(BigInt(message.offset)) ?? false,
    value: message.value,
  };
}

/**
 * Reads `[from, to)` of each listed partition through a consumer of `groupId` (kafkajs reads only
 * in a group), then hands the messages and the still-joined consumer to `use`. `seek`: start at
 * `from` rather than at the group's committed offset.
 */
async function withReader<T>(
  kafka: Kafka,
  topic: string,
  groupId: string,
  ranges: Map<number, { from: bigint; to: bigint }>,
  seek: boolean,
  use: (
    messages: { partition: number; message: KafkaMessage }[],
    consumer: Consumer | undefined,
  ) => Promise<T>,
): Promise<T> {
  const wanted = new Map([...ranges].filter(([, r]) => r.from < r.to));
  // Nothing to read: no group to join (the consumer is undefined).
  if (wanted.size === 0) return use([], undefined);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const found = new Map<string, { partition: number; message: KafkaMessage }>();
    const remaining = new Set(wanted.keys());
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = batch.topic === topic ? wanted.get(batch.partition) : undefined;
        if (!range) return;
        for (const message of batch.messages) {
          const o = BigInt(message.offset);
          if (o >= range.from && o < range.to)
            found.set(`${batch.partition}:${message.offset}`, { partition: batch.partition, message });
        }
        if (batch.messages.length > 0 && BigInt(batch.lastOffset()) >= range.to - 1n) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    if (seek)
      for (const [partition, range] of wanted)
        consumer.seek({ topic, partition, offset: range.from.toString() });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`reading ${topic} took longer than ${READ_TIMEOUT_MS / 1000} s`)),
          READ_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const messages = [...found.values()].sort((a, b) =>
      a.partition !== b.partition
        ? a.partition - b.partition
        : BigInt(a.message.offset) < BigInt(b.message.offset)
          ? -1
          : 1,
    );
    return await use(messages, consumer);
  } finally {
    await consumer.disconnect();
  }
}

/**
 * A dead-letter topic's partitions (checked to exist) and the replay mark of each, as the reads and
 * replays of its dead letters use them.
 */
async function replayMarks(admin: Admin, topic: string) {
  await requireTopic(admin, topic);
  const states = (await partitionStates(admin, [topic])).get(topic) ?? [];
  const marks = new Map(
    states.map((p) => [
      p.partition,
      new ReplayMark(BigInt(p.replayedBelow), new Set(p.replayedAlso.map((o) => BigInt(o)))),
    ]),
  );
  return { states, marks };
}

/** A group of our own to read with, deleted afterwards so reads leave nothing behind. */
async function withThrowawayGroup<T>(admin: Admin, use: (groupId: string) => Promise<T>): Promise<T> {
  const groupId = `waooaw-dlq-reader-${randomBytes(4).toString('hex')}`;
  try {
    return await use(groupId);
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/**
 * The dead letters of one topic (all, or the one at `offset`), each with its headers decoded and
 * whether it has been replayed.
 */
export async function readDeadLetters(
  kafka: Kafka,
  topic: string,
  options: { offset?: string; partition?: number } = {},
): Promise<DeadLetter[]> {
  return withAdmin(kafka, async (admin) => {
    const { states, marks } = await replayMarks(admin, topic);
    const ranges = selectRanges(topic, states, options);
    return withThrowawayGroup(admin, (groupId) =>
      withReader(kafka, topic, groupId, ranges, options.offset !== undefined, async (messages) =>
        messages.map(({ partition, message }) =>
          toDeadLetter(topic, partition, message, marks.get(partition)),
        ),
      ),
    );
  });
}

/** The offsets to read: all that are stored, or the one asked for (checked to exist). */
function selectRanges(
  topic: string,
  states: DlqPartitionState[],
  options: { offset?: string; partition?: number },
): Map<number, { from: bigint; to: bigint }> {
  if (options.offset === undefined) {
    return new Map(
      states
        .filter((p) => options.partition === undefined || p.partition === options.partition)
        .map((p) => [p.partition, { from: BigInt(p.low), to: BigInt(p.high) }]),
    );
  }
  const partition = options.partition ?? 0;
  const state = states.find((p) => p.partition === partition);
  if (!state) throw new DlqError(`${topic} has no partition ${partition}`, 'not-found');
  if (!/^\d+$/.test(options.offset))
    throw new DlqError(`--offset must be a number, not "${options.offset}"`, 'usage');
  const offset = BigInt(options.offset);
  if (offset < BigInt(state.low) || offset >= BigInt(state.high))
    throw new DlqError(
      `${topic}[${partition}] has no dead letter at offset ${options.offset}: it holds offsets ${state.low} to ${BigInt(state.high) - 1n}` +
        (state.low === state.high ? ' (none: it is empty)' : ''),
      'not-found',
    );
  return new Map([[partition, { from: offset, to: offset + 1n }]]);
}

/** The message a dead letter becomes again on its source topic: same key and value, no x-dlq-* headers. */
export function replayMessage(letter: DeadLetter, original: KafkaMessage): Message {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(original.headers ?? {}))
    if (!name.startsWith(DLQ_HEADER_PREFIX) && name !== REPLAYED_FROM_HEADER && value !== undefined)
      headers[name] = value;
  headers[REPLAYED_FROM_HEADER] = `${letter.dlqTopic}/${letter.partition}/${letter.offset}`;
  return { key: original.key, value: original.value, headers };
}

/**
 * Re-publishes dead letters to the topics they came from (their x-dlq-source-topic header) with their
 * key, value and headers (the x-dlq-* ones stripped), and records them as replayed (see replayGroup),
 * so a second replay sends none of them again. `offset`: only that one. `group`: only those the
 * named consumer group dead-lettered. `force`: send it again even if it was replayed (with `offset`).
 */
export async function replayDeadLetters(
  kafka: Kafka,
  topic: string,
  options: { offset?: string; partition?: number; group?: string; force?: boolean } = {},
): Promise<ReplayResult> {
  const result: ReplayResult = { topic, replayed: [], skipped: [] };
  return withAdmin(kafka, async (admin) => {
    const { states, marks } = await replayMarks(admin, topic);
    let ranges: Map<number, { from: bigint; to: bigint }>;
    if (options.offset !== undefined) {
      ranges = selectRanges(topic, states, options);
      // selectRanges returns the one partition and offset asked for.
      for (const [partition, { from }] of ranges) {
        if (!marks.get(partition)!.has(from) || options.force) continue;
        result.skipped.push({
          partition,
          offset: options.offset,
          why: 'already replayed (--force sends it again)',
        });
        return result;
      }
    } else {
      if (options.force)
        throw new DlqError('--force needs --offset: it sends one replayed dead letter again', 'usage');
      // From the mark on: what is below it was replayed.
      ranges = new Map(
        states
          .filter((p) => options.partition === undefined || p.partition === options.partition)
          .map((p) => [p.partition, { from: BigInt(p.replayedBelow), to: BigInt(p.high) }]),
      );
    }
    await withReader(kafka, topic, replayGroup(topic), ranges, true, async (messages, consumer) => {
      if (!consumer) return;
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        let batch: { letter: DeadLetter; message: Message; topic: string }[] = [];
        let bytes = 0;
        const touched = new Set<number>();
        const flush = async () => {
          if (batch.length > 0) {
            const byTopic = new Map<string, Message[]>();
            for (const b of batch) byTopic.set(b.topic, [...(byTopic.get(b.topic) ?? []), b.message]);
            await producer.sendBatch({
              acks: -1,
              topicMessages: [...byTopic].map(([t, m]) => ({ topic: t, messages: m })),
            });
            for (const b of batch) {
              marks.get(b.letter.partition)!.add(BigInt(b.letter.offset));
              result.replayed.push({ partition: b.letter.partition, offset: b.letter.offset, to: b.topic });
            }
            batch = [];
            bytes = 0;
          }
          if (touched.size === 0) return;
          await consumer.commitOffsets(
            [...touched].map((partition) => {
              const mark = marks.get(partition)!;
              return { topic, partition, offset: mark.below.toString(), metadata: mark.metadata() };
            }),
          );
        };
        for (const { partition, message } of messages) {
          const mark = marks.get(partition)!;
          const letter = toDeadLetter(topic, partition, message, mark);
          if (letter.replayed && !options.force) continue;
          if (options.group !== undefined && letter.group !== options.group) continue;
          if (!letter.source) {
            // Nowhere to send it: recorded as dealt with, so the mark moves past it.
            result.skipped.push({ partition, offset: message.offset, why: 'no x-dlq-source-topic header' });
            mark.add(BigInt(message.offset));
            touched.add(partition);
            continue;
          }
          touched.add(partition);
          const replay = replayMessage(letter, message);
          const size = (message.value?.length ?? 0) + (message.key?.length ?? 0) + 512;
          if (batch.length > 0 && bytes + size > MAX_REPLAY_BATCH_BYTES) await flush();
          batch.push({ letter, message: replay, topic: letter.source.topic });
          bytes += size;
        }
        await flush();
      } finally {
        await producer.disconnect();
      }
    });
    return result;
  });
}

/** One dead letter in full: where it came from, why, its headers and its envelope pretty-printed. */
export function formatDeadLetter(letter: DeadLetter): string {
  const lines = [
    `${letter.dlqTopic}[${letter.partition}] offset ${letter.offset}${letter.replayed ? ' (replayed)' : ''}`,
    `  key:         ${letter.key ?? '(none)'}`,
    `  written at:  ${letter.timestamp}`,
    `  source:      ${letter.source ? `${letter.source.topic}[${letter.source.partition}] offset ${letter.source.offset}` : '(unknown)'}`,
    `  group:       ${letter.group ?? '(unknown)'}`,
    `  reason:      ${letter.reason ?? '(unknown)'}${letter.attempts !== undefined ? ` after ${letter.attempts} tries` : ''}`,
    `  failed at:   ${letter.failedAt ?? '(unknown)'}`,
    `  error:       ${letter.error ?? '(none)'}`,
    '',
    'headers:',
    ...Object.entries(letter.headers).map(([name, value]) => `  ${name}: ${value}`),
    '',
    'value:',
  ];
  const text = letter.value?.toString('utf8') ?? '(no value)';
  try {
    lines.push(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    lines.push(text);
  }
  return lines.join('\n');
}
