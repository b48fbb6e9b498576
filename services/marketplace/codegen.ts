import { subgraphCodegen } from '../../codegen.preset';

export default subgraphCodegen('marketplace', {
  Listing: '../models/listing#ListingRecord',
  Trial: '../models/trial#TrialRecord',
  TrialTask: '../models/trial#TrialTaskRecord',
  TrialStep: '../models/trial#TrialStepRecord',
  Deliverable: '../models/deliverable#DeliverableRecord',
  AgentSubscription: '../models/subscription#SubscriptionRecord',
  Review: '../models/review#ReviewRecord',
  Activity: '../models/activity#ActivityRecord',
  Agent: '../resolvers/Agent#AgentRef',
  FunnelGroup: '../domain/funnel#FunnelGroupFigures',
  RevenueGroup: '../domain/revenue#RevenueGroupFigures',
  AgentPerformance: '../figures#AgentPerformanceFigures',
  TrialFigures: '../domain/performance#TrialFiguresRecord',
});
