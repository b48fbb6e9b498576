import type { MutationResolvers } from '../__generated__/resolvers-types';

/**
 * Customers act on their own trials and subscriptions (staff may cancel them); the caller is the
 * actor of what each mutation records, and the gateway's audit log records every call.
 */
export const mutationResolvers: MutationResolvers = {
  startTrial: (_parent, { input }, ctx) => ctx.trials.start(ctx.caller, input),
  requestTrialTask: (_parent, { trialId, input }, ctx) => ctx.trials.requestTask(ctx.caller, trialId, input),
  cancelTrial: (_parent, { id, reason }, ctx) => ctx.trials.cancel(ctx.caller, id, reason),
  convertTrial: (_parent, { trialId, plan }, ctx) => ctx.conversions.convert(ctx.caller, trialId, plan),
  cancelSubscription: (_parent, { id, reason }, ctx) =>
    ctx.commerce.cancelSubscription(ctx.caller, id, reason),
  rateAgent: (_parent, { agentId, stars, comment }, ctx) =>
    ctx.commerce.rate(ctx.caller, agentId, stars, comment),
};
