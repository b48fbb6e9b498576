import { requireRole } from '@waooaw/shared';
import type {
  KnowledgeArticleResolvers,
  TicketResolutionResolvers,
  TicketResolvers,
  TicketSlaResolvers,
  TicketWorkResolvers,
} from '../__generated__/resolvers-types';
import { actsAsCustomer, assertCanSee } from '../access';
import type { Context } from '../context';
import type { ArticleRecord } from '../models/article';

/** Another subgraph's entity, as this one knows it: its id. */
export interface EntityRef {
  id: string;
}

/** Customers never see support's internal notes. */
const seesInternal = (ctx: Context) => ctx.caller !== null && !actsAsCustomer(ctx.caller);

export const ticketResolvers: TicketResolvers = {
  // Entities are private like the root field: their customer, support and staff resolve them.
  __resolveReference: async (reference, ctx) => {
    const who = requireRole(ctx.caller);
    const ticket = await ctx.loaders.ticketById.load(reference.id);
    if (ticket) assertCanSee(who, ticket);
    return ticket;
  },
  id: (t) => t._id,
  agent: (t) => (t.agentId ? { id: t.agentId } : null),
  trial: (t) => (t.trialId ? { id: t.trialId } : null),
  slaBreached: (t) => t.sla.some((v) => v.breachedAt),
  breachedTiers: (t) => [...new Set(t.sla.filter((v) => v.breachedAt).map((v) => v.tier))],
  history: (t, _args, ctx) => (seesInternal(ctx) ? t.history : t.history.filter((h) => !h.internal)),
  comments: (t, _args, ctx) => (seesInternal(ctx) ? t.comments : t.comments.filter((c) => !c.internal)),
};

export const ticketSlaResolvers: TicketSlaResolvers = {
  targetSeconds: (v) => v.targetMs / 1000,
  breached: (v) => v.breachedAt !== null,
  paused: (v) => v.pausedAt !== null,
  pausedSeconds: (v) => v.pausedMs / 1000,
};

export const ticketWorkResolvers: TicketWorkResolvers = {
  task: (w) => ({ id: w.id }),
};

export const ticketResolutionResolvers: TicketResolutionResolvers = {
  // Cited articles stay readable from the resolution even if they were archived since.
  articles: async (r, _args, ctx) =>
    (await ctx.loaders.articleById.loadMany(r.articleIds)).filter(
      (a): a is ArticleRecord => a !== null && !(a instanceof Error),
    ),
};

export const knowledgeArticleResolvers: KnowledgeArticleResolvers = {
  id: (a) => a._id,
};
