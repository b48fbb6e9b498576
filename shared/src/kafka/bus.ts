import type { Admin, IHeaders, Kafka, Message, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { newKafka } from './client';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { Envelope, EnvelopeOptions } from './envelope';
import { createEnvelope } from './envelope';
import type { EventData, EventDefinition, EventInput } from './events';
import { dlqTopic } from './events';
import { kafkaLogCreator, kafkaLogLevel } from './log-bridge';
import { delay } from '../backoff';
import type { ConsumerOptions, EventConsumer, HandlerBinding, PartitionWait } from './consumer';
import { createEventConsumer } from './consumer';
import { logicalTopic, namespacedGroup, namespacedTopic } from '../namespace';
import { KAFKA_MAX_MESSAGE_BYTES } from '../limits';
import { permanentPublishReason, PublishRejectedError } from './publish-errors';

export interface EventBusOptions {
  brokers: string[];
  /** Kafka client id and CloudEvents `source` (`/waooaw/<service>`). */
  service: string;
  logger: Logger;
  metrics?: PlatformMetrics;
  /** Partitions of topics the bus creates, unless a topic names its own. */
  defaultPartitions?: number;
  /**
   * WAOOAW_NAMESPACE: every topic this bus produces to, subscribes to or creates (dead-letter topics
   * too) is `<namespace>.<topic>` on the broker, and every consumer group `<namespace>.<groupId>`.
   * Callers and handlers keep using the plain (logical) names. Empty or unset: no prefix.
   */
  namespace?: string;
  /** A larger message is refused before it is sent (default KAFKA_MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
}

export interface TopicSpec {
  topic: string;
  partitions?: number;
}

export interface PublishOptions extends Omit<EnvelopeOptions, 'source'> {
  /** Message key; defaults to the subject so one entity's events stay in order. */
  key?: string;
}

export interface EventBus {
  /**
   * The raw client, for what the bus does not cover (admin queries, consumers of their own): it
   * knows nothing of the namespace, so name topics and groups through `topic()` and `groupId()`.
   */
  readonly kafka: Kafka;
  readonly source: string;
  /** WAOOAW_NAMESPACE of this bus ('' for none). */
  readonly namespace: string;
  /** The name a logical topic has on the broker (see EventBusOptions.namespace). */
  topic(logical: string): string;
  /** The id a logical consumer group has on the broker. */
  groupId(logical: string): string;
  /** Creates the topics (and their dead-letter topics) that do not exist yet. */
  ensureTopics(topics: (TopicSpec | string)[]): Promise<void>;
  /** Validates, wraps in a CloudEvents envelope and publishes with acks=all; resolves once stored. */
  publish<D extends EventDefinition>(
    definition: D,
    data: EventInput<D>,
    options?: PublishOptions,
  ): Promise<Envelope<EventData<D>>>;
  /**
   * Publishes many events of one type in a single produce request (e.g. a runtime's heartbeats for
   * all its instances); each is validated and enveloped like `publish`.
   */
  publishAll<D extends EventDefinition>(
    definition: D,
    items: { data: EventInput<D>; options?: PublishOptions }[],
  ): Promise<Envelope<EventData<D>>[]>;
  /**
   * Publishes an envelope built earlier (the outbox), keeping its id. `value` is the envelope's JSON
   * when the caller has serialised it already (to measure it), so it is not serialised twice.
   */
  publishEnvelope(topic: string, envelope: Envelope, key?: string, value?: string): Promise<void>;
  /** Low-level send for the DLQ and tools; messages are not validated. */
  sendRaw(topic: string, messages: Message[]): Promise<void>;
  consumer(options: ConsumerOptions): EventConsumer;
  /** True while the producer is connected and no consumer has given up. */
  isReady(): boolean;
  /**
   * The partitions this bus's consumers have paused to wait out a transient failure (a dependency
   * down); the service is then degraded though ready (see busComponent).
   */
  waiting(): PartitionWait[];
  connect(): Promise<void>;
  /** Stops consumers (draining in-flight messages), then disconnects the producer and admin. */
  stopConsumers(): Promise<void>;
  disconnect(): Promise<void>;
}

export function envelopeHeaders(envelope: Envelope): IHeaders {
  return {
    'content-type': 'application/cloudevents+json; charset=utf-8',
    'ce-type': envelope.type,
    'ce-id': envelope.id,
    traceparent: envelope.traceparent,
  };
}

/**
 * The Kafka message of an envelope: its JSON (`value`, serialised here unless given), its key (the
 * subject unless given) and the CloudEvents headers. Throws PublishRejectedError when the envelope
 * cannot be serialised (a BigInt or a cycle in its data): it never can be published.
 */
export function envelopeMessage(envelope: Envelope, key?: string, value?: string): Message {
  if (value === undefined) {
    try {
      value = JSON.stringify(envelope);
    } catch (err) {
      throw new PublishRejectedError(
        `event ${envelope.id} cannot be serialised: ${(err as Error).message}`,
        'unserialisable',
      );
    }
  }
  return { key: key ?? envelope.subject ?? envelope.id, value, headers: envelopeHeaders(envelope) };
}

/**
 * Waits until every partition of `topics` has a leader: a topic created a moment ago (by this process
 * or another) may still be electing them, and producing to it or subscribing then fails.
 */
export async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (attempt >= 20) throw err;
    }
    if (attempt >= 20) throw new Error(`topics ${topics.join(', ')} have no leader yet`);
    await delay(50 * attempt);
  }
}

interface PendingSend {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Coalesced sends stay well below the broker's 1 MB message.max.bytes per partition batch. */
const MAX_BATCH_BYTES = 512 * 1024;

const byteLength = (value: string | Buffer | null | undefined) => (value ? Buffer.byteLength(value) : 0);

/** What a message adds to a produce request, its headers included (an envelope's are ~200 bytes). */
export function messageBytes(message: Message): number {
  let bytes = byteLength(message.value) + byteLength(message.key);
  for (const [name, value] of Object.entries(message.headers ?? {}))
    for (const v of [value].flat()) bytes += Buffer.byteLength(name) + byteLength(v);
  return bytes;
}

/**
 * Counts every request the client's producers, consumers and admins send to a broker, by Kafka API
 * (Produce, Fetch, OffsetCommit, Heartbeat ...): requests per task are a cost that does not depend on
 * the machine's speed, which the bench reports. kafkajs announces each request as an instrumentation
 * event on the producer, consumer or admin that sent it (and builds the event only when someone
 * listens), and has no client-wide hook: so every factory of this client is wrapped, once, here,
 * where the client is made, and whatever creates its clients later (consumers, the gateway's feed,
 * the DLQ tools) is counted without knowing.
 */
function countRequests(kafka: Kafka, counter: PlatformMetrics['kafkaRequests']): void {
  const count = (e: { payload: { apiName: string } }) => counter.inc({ api: e.payload.apiName });
  const producer = kafka.producer.bind(kafka);
  const consumer = kafka.consumer.bind(kafka);
  const admin = kafka.admin.bind(kafka);
  kafka.producer = (config) => {
    const created = producer(config);
    created.on(created.events.REQUEST, count);
    return created;
  };
  kafka.consumer = (config) => {
    const created = consumer(config);
    created.on(created.events.REQUEST, count);
    return created;
  };
  kafka.admin = (config) => {
    const created = admin(config);
    created.on(created.events.REQUEST, count);
    return created;
  };
}

/** The platform's Kafka client: one idempotent producer, an admin, and the consumers it created. */
export function createEventBus(options: EventBusOptions): EventBus {
  const { logger, metrics } = options;
  const maxMessageBytes = options.maxMessageBytes ?? KAFKA_MAX_MESSAGE_BYTES;
  const source = `/waooaw/${options.service}`;
  const namespace = options.namespace ?? '';
  const physical = (topic: string) => namespacedTopic(namespace, topic);
  const kafka = newKafka({
    clientId: `waooaw-${options.service}`,
    brokers: options.brokers,
    logLevel: kafkaLogLevel(logger.level),
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 100, retries: 8 },
  });
  if (metrics) countRequests(kafka, metrics.kafkaRequests);
  // Idempotent producer: the broker drops retried duplicates; acks=all on every send. kafkajs keeps
  // ordering guarantees for idempotent producers only with one request in flight.
  const createProducer = (): Producer => {
    const created = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    created.on(created.events.DISCONNECT, () => {
      if (created === producer) producerConnected = false;
    });
    return created;
  };
  let producer = createProducer();
  let admin: Admin | undefined;
  const consumers: EventConsumer[] = [];
  let producerConnected = false;
  let connecting: Promise<void> | undefined;
  // Set by a failed send; see ready().
  let producerSuspect = false;

  const connect = () => {
    connecting ??= producer.connect().then(
      () => {
        producerConnected = true;
      },
      (err: unknown) => {
        connecting = undefined;
        throw err;
      },
    );
    return connecting;
  };

  /**
   * Connects, first replacing the producer after a failed send. A request can be stored for some of
   * its partitions and refused for another (a message too large for its topic); kafkajs then rolls
   * back the idempotent sequence numbers of all of them, and the broker refuses every later send to a
   * partition that had stored ("out of order sequence number"), for good. A new producer has a new
   * producer id, whose sequences start again.
   */
  const ready = async () => {
    if (producerSuspect) {
      producerSuspect = false;
      const old = producer;
      producer = createProducer();
      producerConnected = false;
      connecting = undefined;
      await old.disconnect().catch(() => undefined);
    }
    await connect();
  };

  // Sends coalesce: while one produce request is in flight, later sends wait and then leave together
  // in one request (a batch per partition). Idle, a send goes out within the turn (no linger); under load the
  // batches grow by themselves, so throughput rises without adding latency, and order is kept because
  // requests leave one at a time in call order.
  const waiting: PendingSend[] = [];
  let sending = false;
  const sendNow = async (batch: PendingSend[]) => {
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(...p.messages);
      byTopic.set(p.topic, list);
    }
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (err) {
      // One message the broker refused for what it is (too large for its topic, invalid) went to one
      // partition and was not stored: the rolled-back sequence is right again, so the producer is
      // kept. Otherwise another partition of the request may have stored its part (see ready()).
      const messages = batch.reduce((n, p) => n + p.messages.length, 0);
      if (messages > 1 || permanentPublishReason(err) === null) producerSuspect = true;
      throw err;
    }
  };
  const pump = async () => {
    if (sending || waiting.length === 0) return;
    sending = true;
    try {
      while (waiting.length > 0) {
        let bytes = 0;
        let count = 0;
        while (count < waiting.length && (count === 0 || bytes + waiting[count]!.bytes <= MAX_BATCH_BYTES))
          bytes += waiting[count++]!.bytes;
        const batch = waiting.splice(0, count);
        try {
          await ready();
        } catch (err) {
          // Kafka cannot be reached: everything waiting fails now, not one by one.
          for (const p of [...batch, ...waiting.splice(0)]) p.reject(err);
          continue;
        }
        try {
          await sendNow(batch);
          for (const p of batch) p.resolve();
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          // One bad message (too large, say) must not fail the sends it happened to travel with. Some
          // of those may have been stored before the request failed: sent again, they arrive twice
          // (at-least-once, same envelope ids) rather than not at all.
          for (const [i, p] of batch.entries()) {
            try {
              await ready();
            } catch (connectErr) {
              for (const q of batch.slice(i)) q.reject(connectErr);
              break;
            }
            await sendNow([p]).then(p.resolve, p.reject);
          }
        }
      }
    } finally {
      sending = false;
    }
  };
  // The pump starts at the end of the current turn of the event loop rather than at the first send:
  // the sends one piece of work makes together (a task's SUBMITTED, assignment and WORKING; the
  // results of a fetched batch) then leave in one request instead of the first alone and the rest
  // after it. The wait is no timer: setImmediate runs as soon as this turn's callbacks are done.
  let pumpScheduled = false;
  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      void pump();
    });
  };
  /** Sends to a topic by its name on the broker (already namespaced). */
  const sendPhysical = (topic: string, messages: Message[]) =>
    new Promise<void>((resolve, reject) => {
      let bytes = 0;
      for (const message of messages) {
        const size = messageBytes(message);
        // Refused here rather than by the broker: the same answer, without a failed request (which
        // would cost the producer its sequence numbers) and without the sends it would travel with.
        if (size > maxMessageBytes) {
          reject(
            new PublishRejectedError(
              `a message to ${topic} is ${size} bytes, larger than the max message size of ${maxMessageBytes} bytes this bus sends`,
              'too-large',
            ),
          );
          return;
        }
        bytes += size;
      }
      waiting.push({ topic, messages, bytes, resolve, reject });
      schedulePump();
    });

  const sendRaw = (topic: string, messages: Message[]) => sendPhysical(physical(topic), messages);

  const publishEnvelope = async (topic: string, envelope: Envelope, key?: string, value?: string) => {
    await sendRaw(topic, [envelopeMessage(envelope, key, value)]);
    metrics?.eventsPublished.inc({ topic });
  };

  /** Creates topics named as on the broker (already namespaced), with their dead-letter topics. */
  const ensurePhysical = async (specs: TopicSpec[]) => {
    admin ??= kafka.admin();
    await admin.connect();
    const wanted = new Map<string, number>();
    for (const spec of specs) {
      const partitions = spec.partitions ?? options.defaultPartitions ?? 3;
      wanted.set(spec.topic, partitions);
      if (!spec.topic.endsWith('.dlq')) wanted.set(dlqTopic(spec.topic), 1);
    }
    // Several processes start together on a fresh broker and create the same topics: whoever loses
    // the race sees "already exists" or a metadata error while the winner's topic gets its leader.
    // Each attempt lists again and creates only what is still missing; then, when anything was
    // missing at first, it waits until every partition has a leader (a topic another process has
    // just created may not have one yet, and subscribing to it would fail).
    let created = false;
    for (let attempt = 1; ; attempt++) {
      const existing = new Set(await admin.listTopics());
      const missing = [...wanted].filter(([topic]) => !existing.has(topic));
      if (missing.length === 0) break;
      created = true;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map(([topic, numPartitions]) => ({ topic, numPartitions })),
        });
        logger.info({ topics: missing.map(([t]) => t) }, 'created Kafka topics');
        break;
      } catch (err) {
        if (attempt >= 8) throw err;
        logger.debug({ err, attempt }, 'creating topics raced with another process; checking again');
        await delay(100 * attempt);
      }
    }
    if (created) await waitForLeaders(admin, [...wanted.keys()]);
  };

  const onBrokerTopic = ({ definition, handle }: HandlerBinding): HandlerBinding => ({
    definition: { ...definition, topic: physical(definition.topic) },
    handle: (data, envelope, context) => handle(data, envelope, { ...context, topic: definition.topic }),
  });
  const bus: EventBus = {
    kafka,
    source,
    namespace,
    topic: physical,
    groupId: (logical) => namespacedGroup(namespace, logical),
    ensureTopics: (topics) =>
      ensurePhysical(
        topics.map((t) =>
          typeof t === 'string' ? { topic: physical(t) } : { ...t, topic: physical(t.topic) },
        ),
      ),
    async publish(definition, data, publishOptions = {}) {
      const envelope = createEnvelope(definition, data, { ...publishOptions, source });
      await publishEnvelope(definition.topic, envelope, publishOptions.key);
      return envelope;
    },
    async publishAll(definition, items) {
      const envelopes = items.map((item) =>
        createEnvelope(definition, item.data, { ...(item.options ?? {}), source }),
      );
      if (envelopes.length === 0) return envelopes;
      await sendRaw(
        definition.topic,
        envelopes.map((envelope, i) => ({
          key: items[i]!.options?.key ?? envelope.subject ?? envelope.id,
          value: JSON.stringify(envelope),
          headers: envelopeHeaders(envelope),
        })),
      );
      metrics?.eventsPublished.inc({ topic: definition.topic }, envelopes.length);
      return envelopes;
    },
    publishEnvelope,
    sendRaw,
    consumer(consumerOptions) {
      // The consumer works with names as they are on the broker (it subscribes, commits and
      // dead-letters by them); its handlers still see the logical topic.
      const consumer = createEventConsumer(
        kafka,
        {
          ...consumerOptions,
          groupId: bus.groupId(consumerOptions.groupId),
          handlers: namespace ? consumerOptions.handlers.map(onBrokerTopic) : consumerOptions.handlers,
          // Positions (where to start, what was committed) are told and given in logical names too.
          ...(consumerOptions.startAt && namespace
            ? {
                startAt: async () =>
                  (await consumerOptions.startAt!()).map((p) => ({ ...p, topic: physical(p.topic) })),
              }
            : {}),
          ...(consumerOptions.onCommit && namespace
            ? {
                onCommit: (positions) =>
                  consumerOptions.onCommit!(
                    positions.map((p) => ({ ...p, topic: logicalTopic(namespace, p.topic) })),
                  ),
              }
            : {}),
        },
        {
          service: options.service,
          logger,
          metrics,
          sendRaw: sendPhysical,
          ensureTopics: (topics) => ensurePhysical(topics.map((topic) => ({ topic }))),
        },
      );
      consumers.push(consumer);
      return consumer;
    },
    isReady: () => producerConnected && consumers.every((c) => c.status() !== 'failed'),
    waiting: () => consumers.flatMap((c) => c.waiting()),
    connect,
    async stopConsumers() {
      await Promise.all(consumers.map((c) => c.stop()));
    },
    async disconnect() {
      await bus.stopConsumers();
      await producer.disconnect();
      await admin?.disconnect();
      connecting = undefined;
    },
  };
  return bus;
}
