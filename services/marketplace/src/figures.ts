import type { Caller, FiguresWindow } from '@waooaw/shared';
import {
  badUserInput,
  FIGURES_WINDOW,
  figuresWindow,
  OWNER_OR_STAFF_ROLES,
  pageSize,
  requireRole,
  STAFF_ROLES,
} from '@waooaw/shared';
import type { FilterQuery } from 'mongoose';
import { ownerScope } from './access';
import type { FunnelGroupFigures, FunnelGrouping, FunnelStages, TrialFacts } from './domain/funnel';
import { funnelGroups, funnelStages } from './domain/funnel';
import type { Retention, TrialFiguresRecord } from './domain/performance';
import { responseTimes, responseTimesOf, retention, taskFigures } from './domain/performance';
import type {
  PaymentRow,
  RevenueFigures,
  RevenueGroupFigures,
  RevenueGrouping,
  SubscriptionRow,
} from './domain/revenue';
import { revenueReport } from './domain/revenue';
import type { DeliverableModel } from './models/deliverable';
import type { AgentCategory, ListingModel, ListingRecord } from './models/listing';
import type { PaymentModel } from './models/payment';
import type { ReviewModel } from './models/review';
import type { SubscriptionModel, SubscriptionRecord } from './models/subscription';
import type { TrialModel, TrialRecord } from './models/trial';

/** Trials the customer view lists at most (the newest of the window). */
export const MAX_CUSTOMER_TRIALS = 100;

interface WindowArgs {
  since?: Date | string | null;
  until?: Date | string | null;
}

interface Filters extends WindowArgs {
  category?: AgentCategory | null;
  agentId?: string | null;
  first?: number | null;
}

export interface ConversionFunnelFigures {
  window: FiguresWindow;
  total: FunnelStages;
  groups: FunnelGroupFigures[];
}

export interface RevenueReportFigures {
  window: FiguresWindow;
  total: RevenueFigures;
  groups: RevenueGroupFigures[];
}

/** The marketplace's part of AgentPerformance (the entity's key and what this subgraph resolves). */
export interface AgentPerformanceFigures extends FiguresWindow, Retention {
  agentId: string;
  rating: { average: number | null; count: number };
}

export interface CustomerFiguresRecord {
  customerId: string;
  window: FiguresWindow;
  trials: number;
  deliverables: number;
  tasks: number;
  tasksCompleted: number;
  averageResponseMs: number | null;
  p50ResponseMs: number | null;
  p95ResponseMs: number | null;
  byTrial: TrialFiguresRecord[];
}

const agentIdOf = (agentId: string | null | undefined): string | null => {
  if (agentId === null || agentId === undefined) return null;
  if (!agentId.trim()) throw badUserInput('agentId is empty; give an agent id', { field: 'agentId' });
  return agentId;
};

/**
 * The business figures the marketplace owns: the conversion funnel and revenue (operators and
 * admins), its part of an agent's performance, and a customer's trials in figures (the customer, or
 * staff naming them). Each reads a window of at most FIGURES_WINDOW.maxDays through an index and
 * hands the rows to the pure arithmetic in domain/.
 */
export function createFigures(deps: {
  trials: TrialModel;
  deliverables: DeliverableModel;
  subscriptions: SubscriptionModel;
  payments: PaymentModel;
  reviews: ReviewModel;
  listings: ListingModel;
  clock: () => Date;
}) {
  const { trials, deliverables, subscriptions, payments, reviews, listings, clock } = deps;
  const windowOf = (args: WindowArgs) => figuresWindow(args, clock(), FIGURES_WINDOW);
  /** What every operator figure starts with: staff only, a bounded window, a bounded group list. */
  const operatorQuery = (caller: Caller | null, args: Filters) => {
    requireRole(caller, ...STAFF_ROLES);
    return { window: windowOf(args), first: pageSize(args.first, 20, 100) };
  };

  /** The facts of each trial asked for in the window (the { createdAt } index finds them). */
  function trialFacts(window: FiguresWindow, filters: Filters): Promise<TrialFacts[]> {
    const match: FilterQuery<TrialRecord> = { createdAt: { $gte: window.since, $lt: window.until } };
    const agentId = agentIdOf(filters.agentId);
    if (agentId) match.agentId = agentId;
    if (filters.category) match.category = filters.category;
    return trials
      .aggregate<TrialFacts>([
        { $match: match },
        {
          $project: {
            _id: 0,
            agentId: 1,
            category: 1,
            status: 1,
            startedAt: 1,
            endedAt: 1,
            // Absent (not null) on trials never converted: $ifNull makes it null either way.
            convertedAt: { $ifNull: ['$conversion.completedAt', null] },
            hasDeliverable: {
              $gt: [
                {
                  $size: {
                    $filter: { input: '$tasks', as: 't', cond: { $ne: ['$$t.deliverableId', null] } },
                  },
                },
                0,
              ],
            },
          },
        },
      ])
      .exec();
  }

  async function funnel(
    caller: Caller | null,
    args: Filters & { groupBy?: FunnelGrouping | null },
  ): Promise<ConversionFunnelFigures> {
    const { window, first } = operatorQuery(caller, args);
    const facts = await trialFacts(window, args);
    // "Now" for day 7 is the end of the window when that is earlier: the figures of a past window
    // read the same whenever they are asked for, as far as day 7 goes.
    const asOf = new Date(Math.min(clock().getTime(), window.until.getTime()));
    return {
      window,
      total: funnelStages(facts, asOf),
      groups: args.groupBy ? funnelGroups(facts, asOf, args.groupBy, first) : [],
    };
  }

  /** Agents of a category, or the one asked for: null for all. */
  async function agentScope(filters: Filters): Promise<string[] | null> {
    const agentId = agentIdOf(filters.agentId);
    if (agentId) return [agentId];
    if (!filters.category) return null;
    const inCategory = await listings
      .find({ category: filters.category, registered: true }, { _id: 1 })
      .lean<Pick<ListingRecord, '_id'>[]>();
    return inCategory.map((l) => l._id);
  }

  /**
   * Payments are summed per agent and plan in MongoDB: a successful payment in the window joined to
   * the subscription it paid for ($lookup on the { paymentId } index), so a charge that bought no
   * subscription (none today; a refund or top-up one day) is not revenue of any agent.
   */
  function paymentRows(window: FiguresWindow, agents: string[] | null): Promise<PaymentRow[]> {
    return payments
      .aggregate<PaymentRow>([
        { $match: { status: 'SUCCEEDED', createdAt: { $gte: window.since, $lt: window.until } } },
        {
          $lookup: {
            from: subscriptions.collection.collectionName,
            localField: '_id',
            foreignField: 'paymentId',
            as: 'subscription',
          },
        },
        { $unwind: '$subscription' },
        ...(agents ? [{ $match: { 'subscription.agentId': { $in: agents } } }] : []),
        {
          $group: {
            _id: { agentId: '$subscription.agentId', planId: '$subscription.plan.id' },
            planName: { $first: '$subscription.plan.name' },
            revenueInr: { $sum: '$amountInr' },
            payments: { $sum: 1 },
          },
        },
        {
          $project: {
            _id: 0,
            agentId: '$_id.agentId',
            planId: '$_id.planId',
            planName: 1,
            revenueInr: 1,
            payments: 1,
          },
        },
      ])
      .exec();
  }

  /** Subscriptions per agent and plan: started in the window, and active at its end (with their prices). */
  function subscriptionRows(window: FiguresWindow, agents: string[] | null): Promise<SubscriptionRow[]> {
    const { since, until } = window;
    // Not cancelled before the end of the window (a missing cancelledAt reads as never cancelled).
    const activeAtEnd = { $gte: [{ $ifNull: ['$cancelledAt', until] }, until] };
    return subscriptions
      .aggregate<SubscriptionRow>([
        { $match: { createdAt: { $lt: until }, ...(agents ? { agentId: { $in: agents } } : {}) } },
        {
          $group: {
            _id: { agentId: '$agentId', planId: '$plan.id' },
            planName: { $first: '$plan.name' },
            newSubscriptions: { $sum: { $cond: [{ $gte: ['$createdAt', since] }, 1, 0] } },
            activeSubscriptions: { $sum: { $cond: [activeAtEnd, 1, 0] } },
            monthlyRecurringInr: { $sum: { $cond: [activeAtEnd, '$priceInr', 0] } },
          },
        },
        {
          $project: {
            _id: 0,
            agentId: '$_id.agentId',
            planId: '$_id.planId',
            planName: 1,
            newSubscriptions: 1,
            activeSubscriptions: 1,
            monthlyRecurringInr: 1,
          },
        },
      ])
      .exec();
  }

  async function revenue(
    caller: Caller | null,
    args: Filters & { groupBy?: RevenueGrouping | null },
  ): Promise<RevenueReportFigures> {
    const { window, first } = operatorQuery(caller, args);
    const agents = await agentScope(args);
    const [paid, subscribed] = await Promise.all([
      paymentRows(window, agents),
      subscriptionRows(window, agents),
    ]);
    // One row per agent and plan: the categories of the agents in them, in one query.
    const agentIds = [...new Set([...paid, ...subscribed].map((r) => r.agentId))];
    const categories = new Map(
      (
        await listings
          .find({ _id: { $in: agentIds } }, { category: 1 })
          .lean<Pick<ListingRecord, '_id' | 'category'>[]>()
      ).map((l) => [l._id, l.category]),
    );
    return {
      window,
      ...revenueReport(paid, subscribed, (id) => categories.get(id) ?? null, args.groupBy ?? 'AGENT', first),
    };
  }

  /** The marketplace's part of one agent's performance over a window (staff only, however reached). */
  async function performance(
    caller: Caller | null,
    args: WindowArgs & { agentId: string },
  ): Promise<AgentPerformanceFigures> {
    requireRole(caller, ...STAFF_ROLES);
    const agentId = agentIdOf(args.agentId)!;
    const window = windowOf(args);
    const { since, until } = window;
    const [ratings, spans] = await Promise.all([
      // Served by the { agentId, updatedAt } index.
      reviews
        .aggregate<{ average: number; count: number }>([
          { $match: { agentId, updatedAt: { $gte: since, $lt: until } } },
          { $group: { _id: null, average: { $avg: '$stars' }, count: { $sum: 1 } } },
        ])
        .exec(),
      subscriptions
        .find(
          {
            agentId,
            createdAt: { $lt: until },
            $or: [{ cancelledAt: null }, { cancelledAt: { $gte: since } }],
          },
          { startedAt: 1, cancelledAt: 1 },
        )
        .lean<Pick<SubscriptionRecord, 'startedAt' | 'cancelledAt'>[]>(),
    ]);
    const rated = ratings[0];
    return {
      agentId,
      ...window,
      rating: rated
        ? { average: Number(rated.average.toFixed(2)), count: rated.count }
        : { average: null, count: 0 },
      ...retention(spans, since, until),
    };
  }

  /** The customer's trials asked for in the window, newest first, in figures. */
  async function customer(
    caller: Caller | null,
    args: WindowArgs & { customerId?: string | null },
  ): Promise<CustomerFiguresRecord> {
    const who = requireRole(caller, ...OWNER_OR_STAFF_ROLES);
    const customerId = ownerScope(who, args.customerId);
    if (!customerId)
      throw badUserInput('Name the customer whose figures you want (customerId)', { field: 'customerId' });
    const window = windowOf(args);
    // Served by the { customerId, createdAt } index.
    const rows = await trials
      .find(
        { customerId, createdAt: { $gte: window.since, $lt: window.until } },
        { agentId: 1, status: 1, createdAt: 1, tasks: 1 },
      )
      .sort({ createdAt: -1, _id: -1 })
      .limit(MAX_CUSTOMER_TRIALS)
      .lean<Pick<TrialRecord, '_id' | 'agentId' | 'status' | 'createdAt' | 'tasks'>[]>();
    const counts = new Map(
      (
        await deliverables
          .aggregate<{ _id: string; count: number }>([
            { $match: { trialId: { $in: rows.map((t) => t._id) } } },
            { $group: { _id: '$trialId', count: { $sum: 1 } } },
          ])
          .exec()
      ).map((r) => [r._id, r.count]),
    );
    const byTrial = rows.map((t): TrialFiguresRecord => ({
      trialId: t._id,
      agentId: t.agentId,
      status: t.status,
      createdAt: t.createdAt,
      deliverables: counts.get(t._id) ?? 0,
      ...taskFigures(t.tasks),
    }));
    const allTasks = rows.flatMap((t) => t.tasks);
    return {
      customerId,
      window,
      trials: byTrial.length,
      deliverables: byTrial.reduce((s, t) => s + t.deliverables, 0),
      tasks: allTasks.length,
      tasksCompleted: byTrial.reduce((s, t) => s + t.tasksCompleted, 0),
      ...responseTimes(responseTimesOf(allTasks)),
      byTrial,
    };
  }

  return { funnel, revenue, performance, customer };
}
export type Figures = ReturnType<typeof createFigures>;
