import type {
  AgentPerformanceResolvers,
  FunnelGroupResolvers,
  RevenueGroupResolvers,
  TrialFiguresResolvers,
} from '../__generated__/resolvers-types';

export const funnelGroupResolvers: FunnelGroupResolvers = {
  agent: (g) => (g.agentId ? { id: g.agentId } : null),
  listing: (g, _args, ctx) => (g.agentId ? ctx.loaders.listingById.load(g.agentId) : null),
};

export const revenueGroupResolvers: RevenueGroupResolvers = {
  agent: (g) => (g.agentId ? { id: g.agentId } : null),
  listing: (g, _args, ctx) => (g.agentId ? ctx.loaders.listingById.load(g.agentId) : null),
};

export const agentPerformanceResolvers: AgentPerformanceResolvers = {
  // Staff only, as the root field: a reference is another way in.
  __resolveReference: (reference, ctx) => ctx.figures.performance(ctx.caller, reference),
  agent: (p) => ({ id: p.agentId }),
  listing: (p, _args, ctx) => ctx.loaders.listingById.load(p.agentId),
};

export const trialFiguresResolvers: TrialFiguresResolvers = {
  // The customer view listed only the caller's own trials (or staff's), so the trial is theirs to read.
  trial: async (t, _args, ctx) => (await ctx.loaders.trialById.load(t.trialId))!,
  agent: (t) => ({ id: t.agentId }),
  listing: (t, _args, ctx) => ctx.loaders.listingById.load(t.agentId),
};
