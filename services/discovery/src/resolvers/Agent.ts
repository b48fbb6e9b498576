import { aggregateHealth } from '@waooaw/shared';
import type { AgentResolvers } from '../__generated__/resolvers-types';

/** Discovery's view of identity's Agent: only its id. */
export interface AgentRef {
  id: string;
}

export const agentResolvers: AgentResolvers = {
  __resolveReference: (reference) => ({ id: reference.id }),
  instances: (agent, { includeInactive }, ctx) =>
    (includeInactive ? ctx.loaders.allInstancesByAgent : ctx.loaders.activeInstancesByAgent).load(agent.id),
  health: async (agent, _args, ctx) => {
    const now = Date.now();
    const instances = await ctx.loaders.activeInstancesByAgent.load(agent.id);
    // A missed TTL counts at once, even before the sweeper has recorded it.
    return aggregateHealth(instances.map((i) => (i.expiresAt.getTime() < now ? 'UNKNOWN' : i.health.state)));
  },
};
