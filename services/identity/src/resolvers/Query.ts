import type { FilterQuery } from 'mongoose';
import { badUserInput, decodeCursor, pageSize, toConnection } from '@waooaw/shared';
import type { QueryResolvers } from '../__generated__/resolvers-types';
import { toAgentCard } from '../domain/agent-card';
import { rangeConditions } from '../domain/version-range';
import type { AgentRecord } from '../models/agent';
import { publicCapability } from '../agent-registry';
import type { AgentModel } from '../models/agent';

/** Ids one agentsByIds may ask for (one batch of the gateway's subscription payloads fits). */
const MAX_IDS = 100;

export function queryResolvers(agents: AgentModel): QueryResolvers {
  return {
    agent: (_parent, { id }, ctx) => ctx.loaders.agentById.load(id),

    agentsByIds: async (_parent, { ids }, ctx) => {
      if (ids.length > MAX_IDS)
        throw badUserInput(`agentsByIds takes at most ${MAX_IDS} ids; ask in several requests`);
      const agents = await ctx.loaders.agentById.loadMany(ids);
      const failed = agents.find((a): a is Error => a instanceof Error);
      if (failed) throw failed;
      return agents as (AgentRecord | null)[];
    },

    agentByHandle: async (_parent, { handle }, ctx) => {
      const agent = await agents.findOne({ handle }).lean<AgentRecord>();
      if (agent) ctx.loaders.agentById.prime(agent._id, agent);
      return agent;
    },

    agents: async (_parent, { filter, first, after }) => {
      const limit = pageSize(first);
      const query: FilterQuery<AgentRecord> = {};
      if (filter?.kind) query.kind = filter.kind;
      if (filter?.category) query.category = filter.category;
      if (filter?.status) query.status = filter.status;
      if (filter?.tags?.length) query.tags = { $all: filter.tags };
      if (filter?.capability) {
        const { name, versionRange } = filter.capability;
        query.capabilities = {
          $elemMatch: versionRange ? { name, $or: rangeConditions(versionRange) } : { name },
        };
      }
      const page: FilterQuery<AgentRecord> = after
        ? { ...query, handle: { $gt: decodeCursor(after) } }
        : query;
      const [rows, totalCount] = await Promise.all([
        agents
          .find(page)
          .sort({ handle: 1 })
          .limit(limit + 1)
          .lean<AgentRecord[]>(),
        agents.countDocuments(query),
      ]);
      return toConnection(rows, limit, totalCount, (a) => a.handle);
    },

    agentCard: async (_parent, { id }, ctx) => {
      const agent = await ctx.loaders.agentById.load(id);
      return agent
        ? toAgentCard({ ...agent, capabilities: agent.capabilities.map(publicCapability) }, ctx.a2aBaseUrl)
        : null;
    },
  };
}
