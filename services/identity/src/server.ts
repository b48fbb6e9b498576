import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import type { Connection } from 'mongoose';
import type { EventBus, Logger, PlatformMetrics, Service } from '@waooaw/shared';
import {
  busComponent,
  indexesComponent,
  consumerComponent,
  createOutboxRelay,
  createService,
  createSubgraphServer,
  mongoComponent,
  relayComponent,
} from '@waooaw/shared';
import { createAgentRegistry } from './agent-registry';
import type { Context } from './context';
import { contextFactory } from './context';
import type { Environment } from './environment';
import { commandHandlers } from './events/commands';
import { agentModel } from './models/agent';
import { createResolvers } from './resolvers';

export const typeDefs = parse(
  readFileSync(path.resolve(__dirname, '../../../schemas/identity.graphql'), 'utf8'),
);

export interface IdentityDeps {
  config: Pick<Environment, 'CALLER_TOKEN_SECRET' | 'A2A_BASE_URL' | 'NODE_ENV'>;
  logger: Logger;
  metrics: PlatformMetrics;
  connection: Connection;
  bus: EventBus;
  /** Outbox polling interval (tests shorten it). */
  outboxIntervalMs?: number;
  /** Prefix of the consumer group ids (tests run several instances side by side). */
  consumerGroupPrefix?: string;
}

/** Builds the identity service from its dependencies; tests use it without a port. */
export function createServer(deps: IdentityDeps) {
  const { logger, bus } = deps;
  const agents = agentModel(deps.connection);
  const relay = createOutboxRelay({
    models: [agents],
    bus,
    logger,
    metrics: deps.metrics,
    intervalMs: deps.outboxIntervalMs ?? 500,
  });
  const registry = createAgentRegistry({ agents, bus, relay, logger });
  const graphql = createSubgraphServer<Context>({
    typeDefs,
    resolvers: createResolvers(agents),
    logger,
    production: deps.config.NODE_ENV === 'production',
  });
  const context = contextFactory({
    agents,
    registry,
    logger,
    callerSecret: deps.config.CALLER_TOKEN_SECRET,
    a2aBaseUrl: deps.config.A2A_BASE_URL,
  });
  // Work (see shared/src/kafka/groups.ts): each command is applied once, by one process, to the database.
  const commands = bus.consumer({
    groupId: `${deps.consumerGroupPrefix ?? ''}identity.commands`,
    handlers: commandHandlers(registry, bus),
  });
  const service: Service = createService<Context>({
    name: 'identity',
    logger,
    metrics: deps.metrics,
    graphql: { server: graphql, context },
    components: [
      mongoComponent(deps.connection),
      indexesComponent(agents),
      busComponent(bus),
      relayComponent(relay),
      consumerComponent(commands),
    ],
  });
  return { service, graphql, context, agents, registry, relay, bus };
}
