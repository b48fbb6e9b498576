import type { FilterQuery } from 'mongoose';
import { badUserInput, forbidden, pageSize, requireRole } from '@waooaw/shared';
import type { QueryResolvers } from '../__generated__/resolvers-types';
import { actsAsCustomer, assertCanSee } from '../access';
import { supportMetrics } from '../domain/metrics';
import type { TicketModel, TicketRecord } from '../models/ticket';

/** Tickets a metrics query reads at most (the latest first): the window stays bounded. */
export const MAX_METRICS_TICKETS = 20_000;
const WEEK_MS = 7 * 86_400_000;
const SUPPORT_ROLES = ['support-l1', 'support-l2', 'support-l3', 'operator', 'admin'] as const;

const asDate = (value: Date | string | null | undefined, field: string): Date | null => {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw badUserInput(`${field} is not a date-time`, { field });
  return date;
};

export function queryResolvers(models: { tickets: TicketModel }): QueryResolvers {
  return {
    ticket: async (_parent, { id }, ctx) => {
      const who = requireRole(ctx.caller);
      const ticket = await ctx.loaders.ticketById.load(id);
      if (ticket) assertCanSee(who, ticket);
      return ticket;
    },

    myTickets: async (_parent, { status, customerId, first }, ctx) => {
      const who = requireRole(ctx.caller);
      const query: FilterQuery<TicketRecord> = {};
      if (actsAsCustomer(who)) {
        if (customerId && customerId !== who.sub)
          throw forbidden('Customers can only list their own tickets; leave customerId out');
        query.customerId = who.sub;
      } else if (customerId) query.customerId = customerId;
      if (status) query.status = status;
      return models.tickets
        .find(query, { outbox: 0 })
        .sort({ createdAt: -1, _id: -1 })
        .limit(pageSize(first, 50, 100))
        .lean<TicketRecord[]>();
    },

    supportQueue: async (_parent, { tier, first }, ctx) => {
      requireRole(ctx.caller, ...SUPPORT_ROLES);
      return models.tickets
        .find({ tier, status: { $in: ['OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER'] } }, { outbox: 0 })
        .sort({ priorityRank: -1, tierEnteredAt: 1, _id: 1 })
        .limit(pageSize(first, 50, 100))
        .lean<TicketRecord[]>();
    },

    knowledgeArticle: async (_parent, { id }, ctx) => {
      const article = await ctx.loaders.articleById.load(id);
      return article && ctx.articles.visibleStatuses(ctx.caller, article.status).includes(article.status)
        ? article
        : null;
    },

    knowledgeArticles: (_parent, args, ctx) => ctx.articles.list(ctx.caller, args),

    supportMetrics: async (_parent, args, ctx) => {
      requireRole(ctx.caller, ...SUPPORT_ROLES);
      const until = asDate(args.until, 'until') ?? ctx.clock();
      const since = asDate(args.since, 'since') ?? new Date(until.getTime() - WEEK_MS);
      if (since.getTime() >= until.getTime())
        throw badUserInput('since must be before until', { field: 'since' });
      const tickets = await models.tickets
        .find({ 'sla.enteredAt': { $gte: since, $lt: until } }, { sla: 1 })
        .sort({ createdAt: -1, _id: -1 })
        .limit(MAX_METRICS_TICKETS)
        .lean<Pick<TicketRecord, '_id' | 'sla'>[]>();
      return supportMetrics(tickets, { since, until }, ctx.slaSeconds);
    },
  };
}
