import type { MutationResolvers } from '../__generated__/resolvers-types';

/**
 * Every change names the caller as its actor in the ticket's history, and the gateway's audit log
 * records every mutation call (who, variables, outcome).
 */
export const mutationResolvers: MutationResolvers = {
  openTicket: (_parent, { input }, ctx) => ctx.tickets.open(ctx.caller, input),
  escalateTicket: (_parent, { id, reason, toTier }, ctx) =>
    ctx.tickets.escalate(ctx.caller, id, reason, toTier),
  assignTicket: (_parent, { id, assignee }, ctx) => ctx.tickets.assign(ctx.caller, id, assignee),
  resolveTicket: (_parent, { id, resolution }, ctx) => ctx.tickets.resolve(ctx.caller, id, resolution),
  reopenTicket: (_parent, { id, reason }, ctx) => ctx.tickets.reopen(ctx.caller, id, reason),
  addTicketComment: (_parent, { id, body, internal, waitingOnCustomer }, ctx) =>
    ctx.tickets.comment(ctx.caller, id, body, { internal, waitingOnCustomer }),
  createKnowledgeArticle: (_parent, { input }, ctx) => ctx.articles.create(ctx.caller, input),
  updateKnowledgeArticle: (_parent, { id, input }, ctx) => ctx.articles.update(ctx.caller, id, input),
};
