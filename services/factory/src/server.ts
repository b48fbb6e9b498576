import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import type { Connection } from 'mongoose';
import type { Component, EventBus, Logger, PlatformMetrics } from '@waooaw/shared';
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
import { loadCatalogue } from './catalogue';
import type { Context } from './context';
import { contextFactory } from './context';
import type { Environment } from './environment';
import { commandHandlers, identityOutcomeHandlers } from './events/handlers';
import { createFactory } from './factory';
import { buildModel } from './models/build';
import { definitionModel } from './models/definition';
import { createResolvers } from './resolvers';

export const typeDefs = parse(
  readFileSync(path.resolve(__dirname, '../../../schemas/factory.graphql'), 'utf8'),
);

export interface FactoryDeps {
  config: Pick<
    Environment,
    'CALLER_TOKEN_SECRET' | 'NODE_ENV' | 'FACTORY_LOAD_CATALOGUE' | 'FACTORY_CATALOGUE_DIR'
  >;
  logger: Logger;
  metrics: PlatformMetrics;
  connection: Connection;
  bus: EventBus;
  outboxIntervalMs?: number;
  /** Prefix of the consumer group ids (tests run several instances side by side). */
  consumerGroupPrefix?: string;
}

export function createServer(deps: FactoryDeps) {
  const { logger, bus, config } = deps;
  const definitions = definitionModel(deps.connection);
  const builds = buildModel(deps.connection);
  const relay = createOutboxRelay({
    models: [builds],
    bus,
    logger,
    metrics: deps.metrics,
    intervalMs: deps.outboxIntervalMs ?? 500,
  });
  const factory = createFactory({ definitions, builds, bus, relay, logger });
  const graphql = createSubgraphServer<Context>({
    typeDefs,
    resolvers: createResolvers({ definitions, builds }),
    logger,
    production: config.NODE_ENV === 'production',
  });
  const context = contextFactory({ definitions, factory, logger, callerSecret: config.CALLER_TOKEN_SECRET });
  // Work (see shared/src/kafka/groups.ts), both groups: each outcome and command is applied once, by
  // one process, to the builds in the database.
  const outcomes = bus.consumer({
    groupId: `${deps.consumerGroupPrefix ?? ''}factory.identity-outcomes`,
    handlers: identityOutcomeHandlers(factory),
  });
  const commands = bus.consumer({
    groupId: `${deps.consumerGroupPrefix ?? ''}factory.commands`,
    handlers: commandHandlers(factory, bus),
  });
  const components: Component[] = [
    mongoComponent(deps.connection),
    indexesComponent(definitions, builds),
    busComponent(bus),
    relayComponent(relay),
    consumerComponent(outcomes),
    consumerComponent(commands),
  ];
  if (config.FACTORY_LOAD_CATALOGUE) {
    components.push({
      name: 'catalogue',
      stage: 'work',
      start: async () => void (await loadCatalogue(factory, config.FACTORY_CATALOGUE_DIR, logger)),
      stop: async () => undefined,
      ready: () => true,
    });
  }
  const service = createService<Context>({
    name: 'factory',
    logger,
    metrics: deps.metrics,
    graphql: { server: graphql, context },
    components,
  });
  return { service, graphql, context, factory, definitions, builds, relay, bus };
}
