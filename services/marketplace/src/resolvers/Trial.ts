import { readOwned } from '@waooaw/shared';
import type {
  ActivityResolvers,
  AgentSubscriptionResolvers,
  DeliverableResolvers,
  TrialResolvers,
  TrialTaskResolvers,
} from '../__generated__/resolvers-types';

export const trialResolvers: TrialResolvers = {
  // Entities are private like the root fields: only their customer and staff resolve them.
  __resolveReference: (reference, ctx) =>
    readOwned(ctx.caller, 'trial', () => ctx.loaders.trialById.load(reference.id)),
  id: (t) => t._id,
  agent: (t) => ({ id: t.agentId }),
  listing: (t, _args, ctx) => ctx.loaders.listingById.load(t.agentId),
  businessContext: (t) => t.businessContext,
  activation: (t) => t.activation.steps,
  tasks: (t) => [...t.tasks].reverse(),
  deliverables: (t, _args, ctx) => ctx.loaders.deliverablesByTrial.load(t._id),
  subscription: (t, _args, ctx) => ctx.loaders.subscriptionByTrial.load(t._id),
};

export const trialTaskResolvers: TrialTaskResolvers = {
  deliverable: (t, _args, ctx) =>
    t.deliverableId ? ctx.loaders.deliverableById.load(t.deliverableId) : null,
  task: (t) => ({ id: t.id }),
};

export const deliverableResolvers: DeliverableResolvers = {
  __resolveReference: (reference, ctx) =>
    readOwned(ctx.caller, 'deliverable', () => ctx.loaders.deliverableById.load(reference.id)),
  id: (d) => d._id,
  trial: async (d, _args, ctx) => (await ctx.loaders.trialById.load(d.trialId))!,
  agent: (d) => ({ id: d.agentId }),
  listing: (d, _args, ctx) => ctx.loaders.listingById.load(d.agentId),
};

export const subscriptionResolvers: AgentSubscriptionResolvers = {
  __resolveReference: (reference, ctx) =>
    readOwned(ctx.caller, 'subscription', () => ctx.loaders.subscriptionById.load(reference.id)),
  id: (s) => s._id,
  trial: async (s, _args, ctx) => (await ctx.loaders.trialById.load(s.trialId))!,
  agent: (s) => ({ id: s.agentId }),
  listing: (s, _args, ctx) => ctx.loaders.listingById.load(s.agentId),
};

export const activityResolvers: ActivityResolvers = {
  id: (a) => a._id,
  agent: (a) => ({ id: a.agentId }),
  listing: (a, _args, ctx) => ctx.loaders.listingById.load(a.agentId),
};
