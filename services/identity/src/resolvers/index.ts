import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { AgentModel } from '../models/agent';
import { agentResolvers } from './Agent';
import { mutationResolvers } from './Mutation';
import { queryResolvers } from './Query';

export function createResolvers(agents: AgentModel): Resolvers {
  return {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    Query: queryResolvers(agents),
    Mutation: mutationResolvers,
    Agent: agentResolvers,
  };
}
