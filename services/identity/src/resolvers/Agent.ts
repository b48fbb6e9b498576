import type { AgentResolvers } from '../__generated__/resolvers-types';
import { publicCapability } from '../agent-registry';

export const agentResolvers: AgentResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.agentById.load(reference.id),
  id: (agent) => agent._id,
  capabilities: (agent) => agent.capabilities.map(publicCapability),
  versions: (agent) =>
    agent.versions.map((v) => ({ ...v, capabilities: v.capabilities.map(publicCapability) })),
  metadata: (agent) => agent.metadata ?? {},
};
