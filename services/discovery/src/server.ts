import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import type { Connection } from 'mongoose';
import type { EventBus, Logger, PlatformMetrics, Service } from '@waooaw/shared';
import {
  busComponent,
  consumerComponent,
  createOutboxRelay,
  createService,
  createSubgraphServer,
  HEARTBEATS_TOPIC,
  indexesComponent,
  mongoComponent,
  relayComponent,
} from '@waooaw/shared';
import type { Context } from './context';
import { contextFactory } from './context';
import type { Environment, HealthEnv } from './environment';
import { healthThresholds } from './environment';

export { environmentSchema } from './environment';
import { heartbeatHandlers, identityHandlers, outcomeHandlers } from './events/handlers';
import { agentReplicaModel } from './models/agent-replica';
import { instanceModel } from './models/instance';
import { createInstanceRegistry } from './registry';
import { createResolvers } from './resolvers';
import { createSelector } from './selection';
import { sweeperComponent } from './sweeper';

export const typeDefs = parse(
  readFileSync(path.resolve(__dirname, '../../../schemas/discovery.graphql'), 'utf8'),
);

export interface DiscoveryDeps {
  config: Pick<
    Environment,
    | 'CALLER_TOKEN_SECRET'
    | 'NODE_ENV'
    | 'DISCOVERY_SWEEP_INTERVAL_MS'
    | 'DISCOVERY_REMOVE_AFTER_SECONDS'
    | 'DISCOVERY_RETENTION_HOURS'
    | 'DISCOVERY_DEFAULT_STRATEGY'
  > &
    HealthEnv;
  logger: Logger;
  metrics: PlatformMetrics;
  connection: Connection;
  bus: EventBus;
  /** Outbox polling interval (tests shorten it). */
  outboxIntervalMs?: number;
  /** Prefix of the consumer group ids (tests run several instances side by side). */
  consumerGroupPrefix?: string;
  /**
   * Where new consumer groups start: the beginning (default, nothing is missed) or the end. Tests
   * that share one broker with other tests start at the end so others' history stays out.
   */
  fromBeginning?: boolean;
}

/** Builds the discovery service from its dependencies; tests use it without a port. */
export function createServer(deps: DiscoveryDeps) {
  const { logger, bus, config } = deps;
  const instances = instanceModel(deps.connection);
  const agents = agentReplicaModel(deps.connection);
  const relay = createOutboxRelay({
    models: [instances],
    bus,
    logger,
    metrics: deps.metrics,
    intervalMs: deps.outboxIntervalMs ?? 500,
  });
  const registry = createInstanceRegistry({
    instances,
    agents,
    bus,
    relay,
    logger,
    thresholds: healthThresholds(config),
  });
  const select = createSelector({ instances, agents, defaultStrategy: config.DISCOVERY_DEFAULT_STRATEGY });
  const graphql = createSubgraphServer<Context>({
    typeDefs,
    resolvers: createResolvers(instances),
    logger,
    production: config.NODE_ENV === 'production',
  });
  const context = contextFactory({
    instances,
    agents,
    registry,
    select,
    logger,
    callerSecret: config.CALLER_TOKEN_SECRET,
  });
  const prefix = deps.consumerGroupPrefix ?? '';
  // Both groups are work (see shared/src/kafka/groups.ts): the registry is the database, each heartbeat,
  // registration, outcome and agent change is applied once, by whichever process holds its partition,
  // and the registry's per-process cache is checked against each document's revision on every write.
  // Heartbeats have a consumer of their own so a burst of them never waits behind other events.
  const heartbeats = bus.consumer({
    groupId: `${prefix}discovery.heartbeats`,
    handlers: heartbeatHandlers(registry),
    partitionsConsumedConcurrently: 3,
    // Different instances' heartbeats (and outcomes, below) are independent: their writes overlap, so
    // a busy database does not make heartbeats queue up past their TTL.
    keyConcurrency: 32,
    // A heartbeat a tenth of a second late changes nothing (TTLs are seconds long).
    batchWindowMs: 100,
    fromBeginning: deps.fromBeginning ?? true,
  });
  const events = bus.consumer({
    groupId: `${prefix}discovery.events`,
    handlers: [...identityHandlers(agents, registry), ...outcomeHandlers(registry)],
    partitionsConsumedConcurrently: 3,
    keyConcurrency: 32,
    // One attempt outcome per task: gathered for a tenth of a second, breakers still trip within it.
    batchWindowMs: 100,
    fromBeginning: deps.fromBeginning ?? true,
  });
  const service: Service = createService<Context>({
    name: 'discovery',
    logger,
    metrics: deps.metrics,
    graphql: { server: graphql, context },
    components: [
      mongoComponent(deps.connection),
      indexesComponent(instances, agents),
      busComponent(bus),
      {
        name: 'topics',
        stage: 'messaging',
        start: () => bus.ensureTopics([HEARTBEATS_TOPIC]),
        stop: async () => undefined,
        ready: () => true,
      },
      relayComponent(relay),
      consumerComponent(heartbeats),
      consumerComponent(events),
      sweeperComponent({
        registry,
        logger,
        intervalMs: config.DISCOVERY_SWEEP_INTERVAL_MS,
        removeAfterMs: config.DISCOVERY_REMOVE_AFTER_SECONDS * 1000,
        retentionMs: config.DISCOVERY_RETENTION_HOURS * 3_600_000,
      }),
    ],
  });
  return {
    service,
    graphql,
    context,
    instances,
    agents,
    registry,
    relay,
    bus,
    consumers: [heartbeats, events],
  };
}
