import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics every service exposes on /metrics, in a registry of its own. */
export interface PlatformMetrics {
  registry: Registry;
  httpRequests: Histogram<'route' | 'method' | 'status'>;
  eventsPublished: Counter<'topic'>;
  eventsConsumed: Counter<'topic' | 'outcome'>;
  eventsDeadLettered: Counter<'topic' | 'reason'>;
  outboxPublished: Counter<'collection'>;
  outboxParked: Counter<'collection' | 'reason'>;
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
  };
}
