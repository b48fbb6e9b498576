import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { valueWithin } from './deadline';

// A service's own metrics are registered in PlatformMetrics.registry with these, so that services
// need no prom-client of their own (one copy, one registry type).
export { Counter, Gauge, Histogram };

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
  /**
   * Messages between a partition's last handled one and its end (high watermark), per consumer group,
   * set after each batch; a partition leaves the gauge when this member no longer holds it.
   */
  consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  /** How long each try of an event handler took, failed tries included. */
  eventHandlerDuration: Histogram<'topic' | 'type'>;
  /** Failed handler tries: `transient` ones wait (the partition pauses), `permanent` ones are retried, then dead-lettered. */
  eventHandlerErrors: Counter<'topic' | 'type' | 'kind'>;
  /**
   * Has the outbox backlog gauges (waooaw_outbox_pending_entries, waooaw_outbox_handovers_held) read
   * `source` at every scrape, until the returned function is called.
   */
  watchOutbox(source: OutboxBacklogSource): () => void;
}

/** What a process's outbox relay has not yet published, read when /metrics is scraped. */
export interface OutboxBacklogSource {
  /** Entries still in the outbox of each collection's documents (stored in MongoDB). */
  pending(): Promise<{ collection: string; entries: number }[]>;
  /** Hand-overs the relay's direct path holds in memory, waiting for Kafka. */
  handOversHeld(): number;
}

/**
 * Maps free-form label values (operation names, capabilities) to a bounded set: the first `max`
 * distinct values keep their name, later ones share `other`. A label value is a time series of its
 * own in Prometheus, so values a client chooses must not grow it without bound.
 */
export function boundedLabel(max: number, other = '(other)'): (value: string) => string {
  const known = new Set<string>();
  return (value) => {
    if (known.has(value)) return value;
    if (known.size >= max) return other;
    known.add(value);
    return value;
  };
}

/**
 * A scrape must not hang on a database that does not answer: a read at scrape time gets this long,
 * after which the gauge keeps what it last read.
 */
export const SCRAPE_READ_TIMEOUT_MS = 2_000;

export function createMetrics(service: string): PlatformMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const outboxSources = new Set<OutboxBacklogSource>();
  /** The last pending counts read per collection: kept when a read fails or times out. */
  const lastPending = new Map<string, number>();
  const metrics: PlatformMetrics = {
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
    consumerLag: new Gauge({
      name: 'waooaw_consumer_lag',
      help: 'Messages not yet handled by a consumer group in a partition it holds (high watermark minus the next offset to handle), set after each batch',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
    }),
    eventHandlerDuration: new Histogram({
      name: 'waooaw_event_handler_duration_seconds',
      help: 'Event handler tries by topic and event type, failed tries included',
      labelNames: ['topic', 'type'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    eventHandlerErrors: new Counter({
      name: 'waooaw_event_handler_errors_total',
      help: 'Failed event handler tries by topic, event type and kind (transient: waited out; permanent: retried, then dead-lettered)',
      labelNames: ['topic', 'type', 'kind'],
      registers: [registry],
    }),
    watchOutbox(source) {
      outboxSources.add(source);
      return () => {
        outboxSources.delete(source);
      };
    },
  };

  // Read at scrape time rather than kept up to date by the relay: counting what waits in MongoDB is
  // a query, worth running only when somebody looks.
  new Gauge({
    name: 'waooaw_outbox_pending_entries',
    help: 'Outbox entries written but not yet published, by collection (read from MongoDB at scrape time)',
    labelNames: ['collection'],
    registers: [registry],
    async collect() {
      const reads = await Promise.all([...outboxSources].map((s) => scrapeRead(s.pending())));
      for (const read of reads)
        for (const { collection, entries } of read ?? []) lastPending.set(collection, entries);
      for (const [collection, entries] of lastPending) this.set({ collection }, entries);
    },
  });
  new Gauge({
    name: 'waooaw_outbox_handovers_held',
    help: 'Hand-overs (a freshly written document and its new outbox entries) the relay holds in memory to publish directly; grows while Kafka refuses',
    registers: [registry],
    collect() {
      let held = 0;
      for (const source of outboxSources) held += source.handOversHeld();
      this.set(held);
    },
  });
  return metrics;
}

/** `read`'s value, or undefined if it fails or takes longer than SCRAPE_READ_TIMEOUT_MS. */
export const scrapeRead = <T>(read: Promise<T>, ms = SCRAPE_READ_TIMEOUT_MS): Promise<T | undefined> =>
  valueWithin(read, ms);
