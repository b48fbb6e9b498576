import type { BackoffPolicy, EventBus, EventConsumer, PlatformMetrics } from '../index';
import { busComponent, consumerComponent, createService } from '../index';
import { testLogger } from '../testing';

/** Tries 10 to 20 ms apart: a failing handler reaches its last try (and the DLQ) in milliseconds. */
export const quickRetries: BackoffPolicy = { initialMs: 10, maxMs: 20, multiplier: 2, jitter: 'NONE' };

/** Waits of 50 to 300 ms through an outage: a paused partition tries again within a test's patience. */
export const quickWaits: BackoffPolicy = { initialMs: 50, maxMs: 300, multiplier: 2, jitter: 'EQUAL' };

/**
 * A consumer run as a platform service runs it (with its bus: readiness, /metrics), started on
 * free ports, /metrics on a port of its own (`service.metricsUrl`). Stopping the service stops the
 * consumer and disconnects the bus.
 */
export async function startConsumerService(options: {
  name: string;
  bus: EventBus;
  consumer: EventConsumer;
  metrics: PlatformMetrics;
}) {
  const service = createService({
    name: options.name,
    logger: testLogger(),
    metrics: options.metrics,
    components: [busComponent(options.bus), consumerComponent(options.consumer)],
  });
  const url = await service.start(0, '127.0.0.1', 0);
  return { service, url };
}
