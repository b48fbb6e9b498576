import type { Component, SubgraphDeps } from '@waooaw/shared';
import { subgraphSchema, subgraphWiring } from '@waooaw/shared';
import { loadCatalogue } from './catalogue';
import type { Context } from './context';
import { contextFactory } from './context';
import type { Environment } from './environment';
import { commandHandlers, identityOutcomeHandlers } from './events/handlers';
import { createFactory } from './factory';
import { buildModel } from './models/build';
import { definitionModel } from './models/definition';
import { createResolvers } from './resolvers';

export const typeDefs = subgraphSchema('factory');

export type FactoryDeps = SubgraphDeps<
  Pick<Environment, 'CALLER_TOKEN_SECRET' | 'NODE_ENV' | 'FACTORY_LOAD_CATALOGUE' | 'FACTORY_CATALOGUE_DIR'>
>;

export function createServer(deps: FactoryDeps) {
  const { logger, bus, config } = deps;
  const subgraph = subgraphWiring(deps);
  const definitions = definitionModel(deps.connection);
  const builds = buildModel(deps.connection);
  const relay = subgraph.relay([builds]);
  const factory = createFactory({ definitions, builds, bus, relay, logger });
  const context = contextFactory({ definitions, factory, logger, callerSecret: config.CALLER_TOKEN_SECRET });
  // Work (see shared/src/kafka/groups.ts), both groups: each outcome and command is applied once, by
  // one process, to the builds in the database.
  const outcomes = subgraph.consumer({
    group: 'factory.identity-outcomes',
    handlers: identityOutcomeHandlers(factory),
  });
  const commands = subgraph.consumer({
    group: 'factory.commands',
    handlers: commandHandlers(factory, bus),
  });
  const catalogue: Component = {
    name: 'catalogue',
    stage: 'work',
    start: async () => void (await loadCatalogue(factory, config.FACTORY_CATALOGUE_DIR, logger)),
    stop: async () => undefined,
    ready: () => true,
  };
  const { service, graphql } = subgraph.service<Context>({
    name: 'factory',
    typeDefs,
    resolvers: createResolvers({ definitions, builds }),
    context,
    models: [definitions, builds],
    relay,
    consumers: [outcomes, commands],
    components: config.FACTORY_LOAD_CATALOGUE ? [catalogue] : [],
  });
  return { service, graphql, context, factory, definitions, builds, relay, bus };
}
