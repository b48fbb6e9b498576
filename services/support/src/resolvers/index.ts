import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { TicketModel } from '../models/ticket';
import { mutationResolvers } from './Mutation';
import { queryResolvers } from './Query';
import {
  knowledgeArticleResolvers,
  ticketResolutionResolvers,
  ticketResolvers,
  ticketSlaResolvers,
  ticketWorkResolvers,
} from './Ticket';

export function createResolvers(models: { tickets: TicketModel }): Resolvers {
  return {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    Query: queryResolvers(models),
    Mutation: mutationResolvers,
    Ticket: ticketResolvers,
    TicketSla: ticketSlaResolvers,
    TicketWork: ticketWorkResolvers,
    TicketResolution: ticketResolutionResolvers,
    KnowledgeArticle: knowledgeArticleResolvers,
  };
}
