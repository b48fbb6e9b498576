import type { SubgraphDeps } from '@waooaw/shared';
import { subgraphSchema, subgraphWiring } from '@waooaw/shared';
import { createAgentRegistry } from './agent-registry';
import type { Context } from './context';
import { contextFactory } from './context';
import type { Environment } from './environment';
import { commandHandlers } from './events/commands';
import { agentModel } from './models/agent';
import { createResolvers } from './resolvers';

export const typeDefs = subgraphSchema('identity');

export type IdentityDeps = SubgraphDeps<
  Pick<Environment, 'CALLER_TOKEN_SECRET' | 'A2A_BASE_URL' | 'NODE_ENV'>
>;

/** Builds the identity service from its dependencies; tests use it without a port. */
export function createServer(deps: IdentityDeps) {
  const { logger, bus } = deps;
  const subgraph = subgraphWiring(deps);
  const agents = agentModel(deps.connection);
  const relay = subgraph.relay([agents]);
  const registry = createAgentRegistry({ agents, bus, relay, logger });
  const context = contextFactory({
    agents,
    registry,
    logger,
    callerSecret: deps.config.CALLER_TOKEN_SECRET,
    a2aBaseUrl: deps.config.A2A_BASE_URL,
  });
  // Work (see shared/src/kafka/groups.ts): each command is applied once, by one process, to the database.
  const commands = subgraph.consumer({
    group: 'identity.commands',
    handlers: commandHandlers(registry, bus),
  });
  const { service, graphql } = subgraph.service<Context>({
    name: 'identity',
    typeDefs,
    resolvers: createResolvers(agents),
    context,
    models: [agents],
    relay,
    consumers: [commands],
  });
  return { service, graphql, context, agents, registry, relay, bus };
}
