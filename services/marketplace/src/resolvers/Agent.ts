import type { AgentResolvers } from '../__generated__/resolvers-types';

/** The marketplace's view of identity's Agent: only its id. */
export interface AgentRef {
  id: string;
}

export const agentResolvers: AgentResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),
  listing: (agent, _args, ctx) => ctx.loaders.listingById.load(agent.id),
};
