import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics every service exposes on /metrics, in a registry of its own. */
export interface PlatformMetrics {
  registry: Registry;
  httpRequests: Histogram<'route' | 'method' | 'status'>;
  eventsPublished: Counter<'topic'>;
  eventsConsumed: Counter<'topic' | 'outcome'>;
  /** Per source topic: what this process's consumers sent to `<topic>.dlq`, and why. */
  eventsDeadLettered: Counter<'topic' | 'reason'>;
  /** Partitions a consumer has paused to wait out a transient failure (a dependency down); 0 when all flow. */
  consumerPausedPartitions: Gauge<'group' | 'topic'>;
  /** Transient handler failures (waited out, never dead-lettered). */
  consumerTransientFailures: Counter<'topic'>;
  /** Requests sent to Kafka brokers by this process's clients, by API (Produce, Fetch ...). */
  kafkaRequests: Counter<'api'>;
  outboxPublished: Counter<'collection'>;
  outboxParked: Counter<'collection' | 'reason'>;
  /** Handed-over outbox events the direct path did not keep in memory (it was full): a sweep publishes them. */
  outboxLeftToScan: Counter<'collection'>;
}

export function createMetrics(service: string): PlatformMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'waooaw_http_request_duration_seconds',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'waooaw_events_published_total',
      help: 'Events published to Kafka',
      labelNames: ['topic'],
      registers: [registry],
    }),
    eventsConsumed: new Counter({
      name: 'waooaw_events_consumed_total',
      help: 'Kafka messages consumed, by outcome (handled, ignored, poison, failed)',
      labelNames: ['topic', 'outcome'],
      registers: [registry],
    }),
    eventsDeadLettered: new Counter({
      name: 'waooaw_events_dead_lettered_total',
      help: 'Messages sent to a dead-letter topic',
      labelNames: ['topic', 'reason'],
      registers: [registry],
    }),
    consumerPausedPartitions: new Gauge({
      name: 'waooaw_consumer_paused_partitions',
      help: 'Partitions paused while a consumer waits out a transient failure (MongoDB or Kafka unreachable)',
      labelNames: ['group', 'topic'],
      registers: [registry],
    }),
    consumerTransientFailures: new Counter({
      name: 'waooaw_consumer_transient_failures_total',
      help: 'Handler failures classified transient: the partition paused and retried, never dead-lettered',
      labelNames: ['topic'],
      registers: [registry],
    }),
    kafkaRequests: new Counter({
      name: 'waooaw_kafka_requests_total',
      help: 'Requests sent to Kafka brokers by this process (producers, consumers, admins), by Kafka API',
      labelNames: ['api'],
      registers: [registry],
    }),
    outboxPublished: new Counter({
      name: 'waooaw_outbox_published_total',
      help: 'Outbox events published by the relay',
      labelNames: ['collection'],
      registers: [registry],
    }),
    outboxParked: new Counter({
      name: 'waooaw_outbox_parked_total',
      help: 'Outbox events set aside because they can never be published (too-large, unserialisable, rejected)',
      labelNames: ['collection', 'reason'],
      registers: [registry],
    }),
    outboxLeftToScan: new Counter({
      name: 'waooaw_outbox_left_to_scan_total',
      help: 'Handed-over outbox events not held in memory (Kafka refused long enough to fill the list): published from MongoDB by a sweep instead',
      labelNames: ['collection'],
      registers: [registry],
    }),
  };
}
