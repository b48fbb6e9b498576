import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types';
import { agentResolvers } from './Agent';
import {
  agentPerformanceResolvers,
  funnelGroupResolvers,
  revenueGroupResolvers,
  trialFiguresResolvers,
} from './Figures';
import { listingResolvers, reviewResolvers } from './Listing';
import { mutationResolvers } from './Mutation';
import type { QueryModels } from './Query';
import { queryResolvers } from './Query';
import {
  activityResolvers,
  deliverableResolvers,
  subscriptionResolvers,
  trialResolvers,
  trialTaskResolvers,
} from './Trial';

export function createResolvers(models: QueryModels): Resolvers {
  return {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    Query: queryResolvers(models),
    Mutation: mutationResolvers,
    Agent: agentResolvers,
    Listing: listingResolvers,
    Review: reviewResolvers,
    Trial: trialResolvers,
    TrialTask: trialTaskResolvers,
    Deliverable: deliverableResolvers,
    AgentSubscription: subscriptionResolvers,
    Activity: activityResolvers,
    FunnelGroup: funnelGroupResolvers,
    RevenueGroup: revenueGroupResolvers,
    AgentPerformance: agentPerformanceResolvers,
    TrialFigures: trialFiguresResolvers,
  };
}
