import type { AgentResolvers } from '../__generated__/resolvers-types';

/** The factory's view of identity's Agent: only its id. */
export interface AgentReference {
  id: string;
}

export const agentResolvers: AgentResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),
  definition: (agent, _args, ctx) => ctx.loaders.definitionByAgentId.load(agent.id),
};
