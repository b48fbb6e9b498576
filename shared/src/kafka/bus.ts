import type { Admin, IHeaders, Kafka, Message, Producer } from 'kafkajs';
import { Kafka as KafkaClient, Partitioners } from 'kafkajs';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { Envelope, EnvelopeOptions } from './envelope';
import { createEnvelope } from './envelope';
import type { EventData, EventDefinition, EventInput } from './events';
import { dlqTopic } from './events';
import { kafkaLogCreator, kafkaLogLevel } from './log-bridge';
import { delay } from '../backoff';
import type { ConsumerOptions, EventConsumer } from './consumer';
import { createEventConsumer } from './consumer';

export interface EventBusOptions {
  brokers: string[];
  /** Kafka client id and CloudEvents `source` (`/waooaw/<service>`). */
  service: string;
  logger: Logger;
  metrics?: PlatformMetrics;
  /** Partitions of topics the bus creates, unless a topic names its own. */
  defaultPartitions?: number;
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
  readonly kafka: Kafka;
  readonly source: string;
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
  /** Publishes an envelope built earlier (the outbox), keeping its id. */
  publishEnvelope(topic: string, envelope: Envelope, key?: string): Promise<void>;
  /** Low-level send for the DLQ and tools; messages are not validated. */
  sendRaw(topic: string, messages: Message[]): Promise<void>;
  consumer(options: ConsumerOptions): EventConsumer;
  /** True while the producer is connected and no consumer has given up. */
  isReady(): boolean;
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

/** The platform's Kafka client: one idempotent producer, an admin, and the consumers it created. */
export function createEventBus(options: EventBusOptions): EventBus {
  const { logger, metrics } = options;
  const source = `/waooaw/${options.service}`;
  const kafka = new KafkaClient({
    clientId: `waooaw-${options.service}`,
    brokers: options.brokers,
    logLevel: kafkaLogLevel(logger.level),
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 100, retries: 8 },
  });
  // Idempotent producer: the broker drops retried duplicates; acks=all on every send. kafkajs keeps
  // ordering guarantees for idempotent producers only with one request in flight.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  let admin: Admin | undefined;
  const consumers: EventConsumer[] = [];
  let producerConnected = false;
  let connecting: Promise<void> | undefined;
  producer.on(producer.events.DISCONNECT, () => (producerConnected = false));

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

  const sendRaw = async (topic: string, messages: Message[]) => {
    await connect();
    await producer.send({ topic, acks: -1, messages });
  };

  const publishEnvelope = async (topic: string, envelope: Envelope, key?: string) => {
    await sendRaw(topic, [
      {
        key: key ?? envelope.subject ?? envelope.id,
        value: JSON.stringify(envelope),
        headers: envelopeHeaders(envelope),
      },
    ]);
    metrics?.eventsPublished.inc({ topic });
  };

  const bus: EventBus = {
    kafka,
    source,
    async ensureTopics(topics) {
      admin ??= kafka.admin();
      await admin.connect();
      const specs = topics.map((t) => (typeof t === 'string' ? { topic: t } : t));
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
      if (!created) return;
      for (let attempt = 1; ; attempt++) {
        try {
          const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...wanted.keys()] });
          if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
            return;
        } catch (err) {
          if (attempt >= 20) throw err;
        }
        if (attempt >= 20) throw new Error(`topics ${[...wanted.keys()].join(', ')} have no leader yet`);
        await delay(50 * attempt);
      }
    },
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
      const consumer = createEventConsumer(kafka, consumerOptions, {
        logger,
        metrics,
        sendRaw,
        ensureTopics: (topics) => bus.ensureTopics(topics),
      });
      consumers.push(consumer);
      return consumer;
    },
    isReady: () => producerConnected && consumers.every((c) => c.status() !== 'failed'),
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
