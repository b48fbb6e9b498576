import type { Component, SubgraphDeps, SupportTier } from '@waooaw/shared';
import {
  ORCHESTRATION_COMMANDS_TOPIC,
  periodicComponent,
  subgraphSchema,
  subgraphWiring,
  supportEvents,
} from '@waooaw/shared';
import { createArticles } from './articles';
import type { Context } from './context';
import { contextFactory } from './context';
import { slaTargetsFromSeconds } from './domain/sla';
import type { Environment } from './environment';
import { SUPPORT_TASK_PREFIX } from './domain/machine';
import { taskHandlers } from './events/handlers';
import type { SeedArticle } from './knowledge-seed';
import { SEED_ARTICLES } from './knowledge-seed';
import { articleModel } from './models/article';
import { ticketModel } from './models/ticket';
import { createResolvers } from './resolvers';
import { createTickets } from './tickets';

export { environmentSchema } from './environment';

export const typeDefs = subgraphSchema('support');

export interface SupportDeps extends SubgraphDeps<
  Pick<
    Environment,
    | 'CALLER_TOKEN_SECRET'
    | 'NODE_ENV'
    | 'SUPPORT_SLA_L1_SECONDS'
    | 'SUPPORT_SLA_L2_SECONDS'
    | 'SUPPORT_SLA_L3_SECONDS'
    | 'SUPPORT_SWEEP_INTERVAL_MS'
    | 'SUPPORT_REOPEN_DAYS'
    | 'SUPPORT_L1_MIN_CONFIDENCE'
    | 'SUPPORT_L1_MAX_ARTICLES'
    | 'SUPPORT_L1_TIMEOUT_MS'
    | 'SUPPORT_L2_TIMEOUT_MS'
    | 'SUPPORT_MAX_OPEN_TICKETS_PER_CUSTOMER'
  >
> {
  /** The domain's clock (SLA deadlines, reopen window, metrics' default window); tests move it. Default: now. */
  clock?: () => Date;
  /** The articles seeded at first start (default: the platform help articles). */
  seedArticles?: readonly SeedArticle[];
}

/** Builds the support service from its dependencies; tests use it without a port. */
export function createServer(deps: SupportDeps) {
  const { logger, bus, config } = deps;
  const subgraph = subgraphWiring(deps);
  const clock = deps.clock ?? (() => new Date());
  const tickets = ticketModel(deps.connection);
  const articles = articleModel(deps.connection);
  const relay = subgraph.relay([tickets]);
  const slaSeconds: Record<SupportTier, number> = {
    L1: config.SUPPORT_SLA_L1_SECONDS,
    L2: config.SUPPORT_SLA_L2_SECONDS,
    L3: config.SUPPORT_SLA_L3_SECONDS,
  };
  const articleOps = createArticles({ articles, logger, clock });
  const ticketOps = createTickets({
    tickets,
    articles: articleOps,
    bus,
    relay,
    logger,
    clock,
    config: {
      slaTargetsMs: slaTargetsFromSeconds(slaSeconds),
      machine: {
        l1MinConfidence: config.SUPPORT_L1_MIN_CONFIDENCE,
        reopenWindowMs: config.SUPPORT_REOPEN_DAYS * 86_400_000,
      },
      l1MaxArticles: config.SUPPORT_L1_MAX_ARTICLES,
      l1TimeoutMs: config.SUPPORT_L1_TIMEOUT_MS,
      l2TimeoutMs: config.SUPPORT_L2_TIMEOUT_MS,
      maxOpenPerCustomer: config.SUPPORT_MAX_OPEN_TICKETS_PER_CUSTOMER,
    },
  });
  const context = contextFactory({
    tickets,
    articles,
    ticketOps,
    articleOps,
    slaSeconds,
    clock,
    logger,
    callerSecret: config.CALLER_TOKEN_SECRET,
  });
  // Work (see shared/src/kafka/groups.ts): each task update is applied once, by one process, to its ticket.
  const tasks = subgraph.consumer({
    group: 'support.tasks',
    handlers: taskHandlers(ticketOps),
    // Task updates are keyed by task id: only support's own tasks are read (the busiest topic).
    acceptKey: (key) => key.startsWith(SUPPORT_TASK_PREFIX),
    partitionsConsumedConcurrently: 3,
    // A ticket's L1 answer may trail its task by a fraction of a second (the SLA is in seconds).
    batchWindowMs: 200,
    projection: true,
  });
  const seed = deps.seedArticles ?? SEED_ARTICLES;
  const knowledgeSeed: Component = {
    name: 'knowledge-seed',
    stage: 'storage',
    start: async () => {
      const added = await articleOps.seed(seed);
      if (added > 0) logger.info({ added }, 'knowledge base seeded');
    },
    stop: async () => undefined,
    ready: () => true,
  };
  // Once at start too, so deadlines that passed while the service was down are acted on at once.
  const slaSweeper = periodicComponent('sla-sweeper', {
    what: 'support sweep',
    intervalMs: config.SUPPORT_SWEEP_INTERVAL_MS,
    run: async () => {
      const result = await ticketOps.sweep();
      if (result.breached + result.closed > 0) logger.info(result, 'support sweep');
    },
    logger,
    runAtStart: true,
  });
  const { service, graphql } = subgraph.service<Context>({
    name: 'support',
    typeDefs,
    resolvers: createResolvers({ tickets }),
    context,
    models: [tickets, articles],
    relay,
    topics: [ORCHESTRATION_COMMANDS_TOPIC, ...Object.values(supportEvents).map((e) => e.topic)],
    consumers: [tasks],
    components: [knowledgeSeed, slaSweeper],
  });
  return {
    service,
    graphql,
    context,
    models: { tickets, articles },
    tickets: ticketOps,
    articles: articleOps,
    sweep: () => ticketOps.sweep(),
    relay,
    bus,
    consumers: [tasks],
  };
}
