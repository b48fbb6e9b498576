import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { BuildModel } from '../models/build';
import type { DefinitionModel } from '../models/definition';
import { agentResolvers } from './Agent';
import { mutationResolvers } from './Mutation';
import { queryResolvers } from './Query';

export function createResolvers(models: { definitions: DefinitionModel; builds: BuildModel }): Resolvers {
  return {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    Query: queryResolvers(models),
    Mutation: mutationResolvers,
    Agent: agentResolvers,
    AgentDefinition: { id: (d) => d._id },
    AgentBuild: {
      id: (b) => b._id,
      definition: async (b, _args, ctx) => (await ctx.loaders.definitionById.load(b.definitionId))!,
      agent: (b) => (b.agentId ? { id: b.agentId } : null),
    },
  };
}
