import type { SubgraphDeps } from '@waooaw/shared';
import {
  discoveryEvents,
  HEARTBEATS_TOPIC,
  periodicComponent,
  subgraphSchema,
  subgraphWiring,
} from '@waooaw/shared';
import { breakerStateGauge } from './breaker-metrics';
import { createBreakerTrips } from './breaker-trips';
import type { Context } from './context';
import { contextFactory } from './context';
import type { Environment, HealthEnv } from './environment';
import { healthThresholds } from './environment';

export { environmentSchema } from './environment';
import { heartbeatHandlers, identityHandlers, outcomeHandlers } from './events/handlers';
import { agentReplicaModel } from './models/agent-replica';
import { breakerTripModel } from './models/breaker-trip';
import { instanceModel } from './models/instance';
import { createInstanceRegistry } from './registry';
import { createResolvers } from './resolvers';
import { createSelector } from './selection';

export const typeDefs = subgraphSchema('discovery');

export type DiscoveryDeps = SubgraphDeps<
  Pick<
    Environment,
    | 'CALLER_TOKEN_SECRET'
    | 'NODE_ENV'
    | 'DISCOVERY_SWEEP_INTERVAL_MS'
    | 'DISCOVERY_REMOVE_AFTER_SECONDS'
    | 'DISCOVERY_RETENTION_HOURS'
    | 'DISCOVERY_DEFAULT_STRATEGY'
  > &
    HealthEnv
>;

/** Builds the discovery service from its dependencies; tests use it without a port. */
export function createServer(deps: DiscoveryDeps) {
  const { logger, bus, config } = deps;
  const subgraph = subgraphWiring(deps);
  const instances = instanceModel(deps.connection);
  const agents = agentReplicaModel(deps.connection);
  const tripRecords = breakerTripModel(deps.connection);
  const trips = createBreakerTrips({ trips: tripRecords, agents });
  const relay = subgraph.relay([instances]);
  breakerStateGauge(deps.metrics.registry, instances);
  const registry = createInstanceRegistry({
    instances,
    agents,
    bus,
    relay,
    logger,
    thresholds: healthThresholds(config),
  });
  const select = createSelector({ instances, agents, defaultStrategy: config.DISCOVERY_DEFAULT_STRATEGY });
  const context = contextFactory({
    instances,
    agents,
    registry,
    select,
    logger,
    callerSecret: config.CALLER_TOKEN_SECRET,
  });
  // Both groups are work (see shared/src/kafka/groups.ts): the registry is the database, each heartbeat,
  // registration, outcome and agent change is applied once, by whichever process holds its partition,
  // and the registry's per-process cache is checked against each document's revision on every write.
  // Heartbeats have a consumer of their own so a burst of them never waits behind other events.
  const heartbeats = subgraph.consumer({
    group: 'discovery.heartbeats',
    handlers: heartbeatHandlers(registry),
    partitionsConsumedConcurrently: 3,
    // Different instances' heartbeats (and outcomes, below) are independent: their writes overlap, so
    // a busy database does not make heartbeats queue up past their TTL.
    keyConcurrency: 32,
    // A heartbeat a tenth of a second late changes nothing (TTLs are seconds long).
    batchWindowMs: 100,
    projection: true,
  });
  const events = subgraph.consumer({
    group: 'discovery.events',
    // Breaker trips come back in from discovery's own topic (see breaker-trips.ts).
    handlers: [...identityHandlers(agents, registry), ...outcomeHandlers(registry), ...trips.handlers()],
    partitionsConsumedConcurrently: 3,
    keyConcurrency: 32,
    // One attempt outcome per task: gathered for a tenth of a second, breakers still trip within it.
    batchWindowMs: 100,
    projection: true,
  });
  // TTL expiry is enforced here, in code, rather than by a MongoDB TTL index (docs/architecture.md:
  // expiry must not be relied on).
  const sweeper = periodicComponent('sweeper', {
    what: 'registry sweep',
    intervalMs: config.DISCOVERY_SWEEP_INTERVAL_MS,
    run: async () => {
      await registry.sweep({
        removeAfterMs: config.DISCOVERY_REMOVE_AFTER_SECONDS * 1000,
        retentionMs: config.DISCOVERY_RETENTION_HOURS * 3_600_000,
      });
      await trips.forgetOld(Date.now());
    },
    logger,
  });
  const { service, graphql } = subgraph.service<Context>({
    name: 'discovery',
    typeDefs,
    resolvers: createResolvers(instances, trips),
    context,
    models: [instances, agents, tripRecords],
    relay,
    // The circuit topic is read here too (breaker trips): made sure of before anyone wrote to it.
    topics: [HEARTBEATS_TOPIC, discoveryEvents.circuitChanged.topic],
    consumers: [heartbeats, events],
    components: [sweeper],
  });
  return {
    service,
    graphql,
    context,
    instances,
    agents,
    trips: tripRecords,
    registry,
    relay,
    bus,
    metrics: deps.metrics,
    consumers: [heartbeats, events],
  };
}
