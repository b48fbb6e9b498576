import type { FilterQuery } from 'mongoose';
import {
  badUserInput,
  olderThanCursor,
  OWNER_OR_STAFF_ROLES,
  pageSize,
  readOwned,
  requireRole,
  timeCursorKey,
  toConnection,
} from '@waooaw/shared';
import type { QueryResolvers } from '../__generated__/resolvers-types';
import { assertOwnerOrStaff, ownerScope } from '../access';
import { buildListingQuery } from '../domain/listing-query';
import type { ActivityModel, ActivityRecord } from '../models/activity';
import type { DeliverableModel, DeliverableRecord } from '../models/deliverable';
import type { ListingModel, ListingRecord } from '../models/listing';
import type { SubscriptionModel, SubscriptionRecord } from '../models/subscription';
import type { TrialModel, TrialRecord } from '../models/trial';

export interface QueryModels {
  listings: ListingModel;
  trials: TrialModel;
  deliverables: DeliverableModel;
  subscriptions: SubscriptionModel;
  activities: ActivityModel;
}

const listSize = (first: number | null | undefined) => pageSize(first, 50, 100);

export function queryResolvers(models: QueryModels): QueryResolvers {
  return {
    // Browsing is public: anonymous callers (forwarded by the gateway) see listings and activity.
    listing: (_parent, { id }, ctx) => ctx.loaders.listingById.load(id),

    listings: async (_parent, args) => {
      const query = buildListingQuery(args);
      const [rows, totalCount] = await Promise.all([
        models.listings
          .find(query.where)
          .sort(query.sort)
          .limit(query.limit + 1)
          .lean<ListingRecord[]>(),
        models.listings.countDocuments(query.countWhere),
      ]);
      const page = rows.slice(0, query.limit);
      const edges = page.map((node) => ({ cursor: query.cursorOf(node), node }));
      return {
        edges,
        pageInfo: { hasNextPage: rows.length > query.limit, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount,
      };
    },

    trial: (_parent, { id }, ctx) => readOwned(ctx.caller, 'trial', () => ctx.loaders.trialById.load(id)),

    myTrials: async (_parent, { status, customerId, first }, ctx) => {
      const who = requireRole(ctx.caller, ...OWNER_OR_STAFF_ROLES);
      const owner = ownerScope(who, customerId);
      const query: FilterQuery<TrialRecord> = {};
      if (owner) query.customerId = owner;
      if (status) query.status = status;
      return models.trials
        .find(query)
        .sort({ createdAt: -1, _id: -1 })
        .limit(listSize(first))
        .lean<TrialRecord[]>();
    },

    deliverable: (_parent, { id }, ctx) =>
      readOwned(ctx.caller, 'deliverable', () => ctx.loaders.deliverableById.load(id)),

    myDeliverables: async (_parent, { trialId, customerId, first, after }, ctx) => {
      const who = requireRole(ctx.caller, ...OWNER_OR_STAFF_ROLES);
      const owner = ownerScope(who, customerId);
      const limit = pageSize(first);
      const query: FilterQuery<DeliverableRecord> = {};
      if (owner) query.customerId = owner;
      if (trialId) {
        const trial = await ctx.loaders.trialById.load(trialId);
        if (trial) assertOwnerOrStaff(who, trial.customerId, 'trial');
        query.trialId = trialId;
      }
      const page = after ? { ...query, ...olderThanCursor(after, 'createdAt') } : query;
      const [rows, totalCount] = await Promise.all([
        models.deliverables
          .find(page)
          .sort({ createdAt: -1, _id: -1 })
          .limit(limit + 1)
          .lean<DeliverableRecord[]>(),
        models.deliverables.countDocuments(query),
      ]);
      return toConnection(rows, limit, totalCount, (d) => timeCursorKey(d.createdAt, d._id));
    },

    subscription: (_parent, { id }, ctx) =>
      readOwned(ctx.caller, 'subscription', () => ctx.loaders.subscriptionById.load(id)),

    mySubscriptions: async (_parent, { status, customerId, first }, ctx) => {
      const who = requireRole(ctx.caller, ...OWNER_OR_STAFF_ROLES);
      const owner = ownerScope(who, customerId);
      const query: FilterQuery<SubscriptionRecord> = {};
      if (owner) query.customerId = owner;
      if (status) query.status = status;
      return models.subscriptions
        .find(query)
        .sort({ createdAt: -1, _id: -1 })
        .limit(listSize(first))
        .lean<SubscriptionRecord[]>();
    },

    // Business figures (figures.ts): staff see every agent's, a customer only their own trials'.
    conversionFunnel: (_parent, args, ctx) => ctx.figures.funnel(ctx.caller, args),
    revenue: (_parent, args, ctx) => ctx.figures.revenue(ctx.caller, args),
    agentPerformance: (_parent, args, ctx) => ctx.figures.performance(ctx.caller, args),
    myFigures: (_parent, args, ctx) => ctx.figures.customer(ctx.caller, args),

    recentActivity: async (_parent, { filter, first }) => {
      const query: FilterQuery<ActivityRecord> = {};
      if (filter?.category) query.category = filter.category;
      if (filter?.agentId !== null && filter?.agentId !== undefined) {
        if (!filter.agentId.trim())
          throw badUserInput('filter.agentId is empty; give an agent id', { field: 'filter.agentId' });
        query.agentId = filter.agentId;
      }
      return models.activities
        .find(query, { outbox: 0 })
        .sort({ createdAt: -1, _id: -1 })
        .limit(pageSize(first))
        .lean<ActivityRecord[]>();
    },
  };
}
