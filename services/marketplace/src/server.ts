import type { SubgraphDeps } from '@waooaw/shared';
import {
  marketplaceEvents,
  ORCHESTRATION_COMMANDS_TOPIC,
  periodicComponent,
  subgraphSchema,
  subgraphWiring,
} from '@waooaw/shared';
import { createActivityLog } from './activity';
import { createCommerce } from './commerce';
import type { Context } from './context';
import type { ConversionHook } from './conversion';
import { createConversions } from './conversion';
import { contextFactory } from './context';
import type { Environment } from './environment';
import { agentHandlers, taskHandlers } from './events/handlers';
import { createFigures } from './figures';
import { createListings } from './listings';
import { activityModel } from './models/activity';
import { handleHealthModel } from './models/handle-health';
import { counterModel, createCounters } from './models/counter';
import { deliverableModel } from './models/deliverable';
import { listingModel } from './models/listing';
import { paymentModel } from './models/payment';
import { reviewModel } from './models/review';
import { subscriptionModel } from './models/subscription';
import { trialModel } from './models/trial';
import type { PaymentProvider } from './payments';
import { createInProcessPayments } from './payments';
import { createResolvers } from './resolvers';
import { createSweeper } from './sweeper';
import type { StepHook } from './trials';
import { createTrials } from './trials';

export { environmentSchema } from './environment';
export type { PaymentProvider, ChargeRequest, ChargeResult } from './payments';

export const typeDefs = subgraphSchema('marketplace');

export interface MarketplaceDeps extends SubgraphDeps<
  Pick<
    Environment,
    | 'CALLER_TOKEN_SECRET'
    | 'NODE_ENV'
    | 'MARKETPLACE_TRIAL_COOLDOWN_DAYS'
    | 'MARKETPLACE_MAX_TRIALS_PER_AGENT'
    | 'MARKETPLACE_MAX_TRIALS_PER_CUSTOMER'
    | 'MARKETPLACE_MAX_TASKS_PER_TRIAL'
    | 'MARKETPLACE_SWEEP_INTERVAL_MS'
    | 'MARKETPLACE_DECLINE_CUSTOMERS'
  >
> {
  /** The domain's clock (trial periods, reminders, cooldowns); tests move it. Default: now. */
  clock?: () => Date;
  /** Who takes payments; default: the in-process provider that records them in this database. */
  payments?: PaymentProvider;
  /** Test seam: runs before each trial activation step (throw to make it fail). */
  beforeActivationStep?: StepHook;
  /** Test seam: runs before each step of a trial's conversion (throw to stand in for a crash). */
  beforeConversionStep?: ConversionHook;
}

/** Builds the marketplace service from its dependencies; tests use it without a port. */
export function createServer(deps: MarketplaceDeps) {
  const { logger, bus, config } = deps;
  const subgraph = subgraphWiring(deps);
  const clock = deps.clock ?? (() => new Date());
  const listings = listingModel(deps.connection);
  const trials = trialModel(deps.connection);
  const deliverables = deliverableModel(deps.connection);
  const subscriptions = subscriptionModel(deps.connection);
  const reviews = reviewModel(deps.connection);
  const activities = activityModel(deps.connection);
  const counterRecords = counterModel(deps.connection);
  const handleHealth = handleHealthModel(deps.connection);
  const payments = paymentModel(deps.connection);
  const counters = createCounters(counterRecords);
  const models = {
    listings,
    trials,
    deliverables,
    subscriptions,
    reviews,
    activities,
    counters: counterRecords,
    handleHealth,
    payments,
  };
  const relay = subgraph.relay([listings, trials, activities]);
  const activity = createActivityLog({ activities, bus, relay, logger, clock });
  const listingOps = createListings({
    listings,
    handleHealth,
    trials,
    subscriptions,
    reviews,
    activity,
    bus,
    relay,
    logger,
    clock,
  });
  const trialOps = createTrials({
    trials,
    listings,
    deliverables,
    counters,
    listingOps,
    activity,
    bus,
    relay,
    logger,
    clock,
    rules: {
      cooldownDays: config.MARKETPLACE_TRIAL_COOLDOWN_DAYS,
      maxPerCustomer: config.MARKETPLACE_MAX_TRIALS_PER_CUSTOMER,
      maxPerAgent: config.MARKETPLACE_MAX_TRIALS_PER_AGENT,
      maxTasksPerTrial: config.MARKETPLACE_MAX_TASKS_PER_TRIAL,
    },
    ...(deps.beforeActivationStep ? { beforeStep: deps.beforeActivationStep } : {}),
  });
  const declined = new Set(config.MARKETPLACE_DECLINE_CUSTOMERS);
  const paymentProvider =
    deps.payments ??
    createInProcessPayments({
      payments,
      clock,
      decline: (request) => (declined.has(request.customerId) ? 'the card was refused' : null),
    });
  const commerce = createCommerce({
    listings,
    trials,
    subscriptions,
    reviews,
    listingOps,
    activity,
    clock,
  });
  const conversions = createConversions({
    listings,
    trials,
    subscriptions,
    trialOps,
    listingOps,
    activity,
    payments: paymentProvider,
    logger,
    clock,
    ...(deps.beforeConversionStep ? { beforeStep: deps.beforeConversionStep } : {}),
  });
  const figures = createFigures({
    trials,
    deliverables,
    subscriptions,
    payments,
    reviews,
    listings,
    clock,
  });
  const sweep = createSweeper({ trials: trialOps, conversions, counters: counterRecords, logger });
  const context = contextFactory({
    listings,
    trials,
    deliverables,
    subscriptions,
    reviews,
    trialOps,
    commerce,
    conversions,
    figures,
    logger,
    callerSecret: config.CALLER_TOKEN_SECRET,
  });
  // Work (see shared/src/kafka/groups.ts), both groups: each event is projected once, by one process,
  // into listings and trials in the database; no process keeps a view of them in memory.
  const agents = subgraph.consumer({
    group: 'marketplace.agents',
    handlers: agentHandlers(listingOps),
    partitionsConsumedConcurrently: 3,
    projection: true,
  });
  // Task updates are the busiest topic: a consumer of their own, so listings never wait behind them.
  const tasks = subgraph.consumer({
    group: 'marketplace.tasks',
    handlers: taskHandlers(listingOps, trialOps),
    partitionsConsumedConcurrently: 3,
    // Different tasks' updates are independent, and their listing figures are written together (see
    // recordTaskOutcome): a window's outcomes become a few writes, not three per task.
    keyConcurrency: 64,
    // Listing figures and trial deliverables may trail a task by a fraction of a second.
    batchWindowMs: 200,
    projection: true,
  });
  const { service, graphql } = subgraph.service<Context>({
    name: 'marketplace',
    typeDefs,
    resolvers: createResolvers({ listings, trials, deliverables, subscriptions, activities }),
    context,
    models: Object.values(models),
    relay,
    topics: [
      ORCHESTRATION_COMMANDS_TOPIC,
      marketplaceEvents.activityCreated.topic,
      marketplaceEvents.trialUpdated.topic,
    ],
    consumers: [agents, tasks],
    components: [
      periodicComponent('sweeper', {
        what: 'trial sweep',
        intervalMs: config.MARKETPLACE_SWEEP_INTERVAL_MS,
        run: sweep,
        logger,
        // Trials that ended and conversions a crash interrupted while the service was down.
        runAtStart: true,
      }),
    ],
  });
  return {
    service,
    graphql,
    context,
    models,
    listings: listingOps,
    trials: trialOps,
    commerce,
    conversions,
    sweep,
    relay,
    bus,
    consumers: [agents, tasks],
  };
}
