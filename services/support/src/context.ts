import type DataLoader from 'dataloader';
import type { Logger, RequestContext, RequestInfo, SupportTier } from '@waooaw/shared';
import { createByIdLoader, createRequestContext } from '@waooaw/shared';
import type { Articles } from './articles';
import type { ArticleModel, ArticleRecord } from './models/article';
import type { TicketModel, TicketRecord } from './models/ticket';
import type { Tickets } from './tickets';

export interface Context extends RequestContext {
  tickets: Tickets;
  articles: Articles;
  /** The configured SLA of each tier in seconds (supportMetrics shows it beside the seeds' targets). */
  slaSeconds: Record<SupportTier, number>;
  clock: () => Date;
  loaders: {
    ticketById: DataLoader<string, TicketRecord | null>;
    articleById: DataLoader<string, ArticleRecord | null>;
  };
}

export interface ContextDeps {
  tickets: TicketModel;
  articles: ArticleModel;
  ticketOps: Tickets;
  articleOps: Articles;
  slaSeconds: Record<SupportTier, number>;
  clock: () => Date;
  logger: Logger;
  callerSecret: string;
}

/** One context per request: verified caller, trace, and fresh DataLoaders (one batch query per list). */
export function contextFactory(deps: ContextDeps) {
  return async (req: RequestInfo): Promise<Context> => ({
    ...(await createRequestContext(req, deps.logger, deps.callerSecret, 'support')),
    tickets: deps.ticketOps,
    articles: deps.articleOps,
    slaSeconds: deps.slaSeconds,
    clock: deps.clock,
    loaders: {
      ticketById: createByIdLoader(
        (ids) => deps.tickets.find({ _id: { $in: ids } }, { outbox: 0 }).lean<TicketRecord[]>(),
        (t) => t._id,
      ),
      articleById: createByIdLoader(
        (ids) => deps.articles.find({ _id: { $in: ids } }).lean<ArticleRecord[]>(),
        (a) => a._id,
      ),
    },
  });
}
