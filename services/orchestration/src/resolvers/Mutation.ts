import type { MutationResolvers } from '../__generated__/resolvers-types';

export const mutationResolvers: MutationResolvers = {
  submitTask: (_parent, { input }, ctx) => ctx.orchestrator.submitTask(input, ctx.caller),
  cancelTask: (_parent, { id, reason }, ctx) => ctx.orchestrator.cancelTask(id, reason, ctx.caller),
  submitWorkflow: (_parent, { input }, ctx) => ctx.orchestrator.submitWorkflow(input, ctx.caller),
  cancelWorkflow: (_parent, { id, reason }, ctx) => ctx.orchestrator.cancelWorkflow(id, reason, ctx.caller),
  submitSaga: (_parent, { input }, ctx) => ctx.orchestrator.submitSaga(input, ctx.caller),
};
