import { createEventBus } from './kafka/bus';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { connectMongo } from './mongo/connection';
import type { Service } from './service';
import { runMain } from './service';
import type { SubgraphDeps } from './service/subgraph';

/** The configuration every service's boot needs (see serviceEnvSchema). */
export interface BootConfig {
  LOG_LEVEL: string;
  MONGO_URL: string;
  MONGO_COMMAND_STATS_MS?: number;
  KAFKA_BROKERS: string[];
  KAFKA_DEFAULT_PARTITIONS: number;
  KAFKA_GROUP_PREFIX: string;
  KAFKA_FROM_BEGINNING: boolean;
  /** Prefixes the service's topics, consumer groups and database (see shared/src/namespace.ts). */
  WAOOAW_NAMESPACE: string;
  PORT: number;
  HOST: string;
  /** Where /metrics is served; undefined: nowhere (see serviceEnvSchema). */
  METRICS_PORT?: number | undefined;
}

/** What bootService gives a service's createServer besides its config (see SubgraphDeps). */
export interface ServiceDeps extends Omit<SubgraphDeps, 'config' | 'outboxIntervalMs'> {
  /** KAFKA_GROUP_PREFIX: prefixes the service's consumer groups. */
  consumerGroupPrefix: string;
  /**
   * KAFKA_FROM_BEGINNING: where a new group of the consumers that project other services' events
   * starts; consumers of commands, results and inboxes ignore it (see baseEnvSchema).
   */
  fromBeginning: boolean;
}

/**
 * The whole of a service's index.ts: logger, MongoDB connection to the service's own database,
 * metrics, Kafka bus, the service built from them, listening on PORT; stopped in order on SIGTERM.
 */
export function bootService(options: {
  name: string;
  config: BootConfig;
  dbName: string;
  create: (deps: ServiceDeps) => { service: Service };
}): void {
  const { name, config } = options;
  const logger = createLogger(name, config.LOG_LEVEL);
  runMain(logger, async () => {
    const connection = await connectMongo({
      url: config.MONGO_URL,
      dbName: options.dbName,
      namespace: config.WAOOAW_NAMESPACE,
      logger,
      commandStatsMs: config.MONGO_COMMAND_STATS_MS ?? 0,
    });
    const metrics = createMetrics(name);
    const bus = createEventBus({
      brokers: config.KAFKA_BROKERS,
      service: name,
      logger,
      metrics,
      defaultPartitions: config.KAFKA_DEFAULT_PARTITIONS,
      namespace: config.WAOOAW_NAMESPACE,
    });
    const { service } = options.create({
      logger,
      metrics,
      connection,
      bus,
      consumerGroupPrefix: config.KAFKA_GROUP_PREFIX,
      fromBeginning: config.KAFKA_FROM_BEGINNING,
    });
    await service.start(config.PORT, config.HOST, config.METRICS_PORT);
    return service;
  });
}
