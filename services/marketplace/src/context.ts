import type DataLoader from 'dataloader';
import type { Logger, RequestContext, RequestInfo } from '@waooaw/shared';
import { createByIdLoader, createGroupLoader, createRequestContext } from '@waooaw/shared';
import type { Commerce } from './commerce';
import type { Conversions } from './conversion';
import type { Figures } from './figures';
import type { DeliverableModel, DeliverableRecord } from './models/deliverable';
import type { ListingModel, ListingRecord } from './models/listing';
import type { ReviewModel, ReviewRecord } from './models/review';
import type { SubscriptionModel, SubscriptionRecord } from './models/subscription';
import type { TrialModel, TrialRecord } from './models/trial';
import type { Trials } from './trials';

/** Reviews fetched per listing at most (Listing.reviews takes up to 50). */
export const MAX_REVIEWS_PER_LISTING = 50;

export interface Context extends RequestContext {
  trials: Trials;
  commerce: Commerce;
  conversions: Pick<Conversions, 'convert'>;
  figures: Figures;
  loaders: {
    /** Registered listings by agent id (placeholders are not listings). */
    listingById: DataLoader<string, ListingRecord | null>;
    trialById: DataLoader<string, TrialRecord | null>;
    deliverableById: DataLoader<string, DeliverableRecord | null>;
    /** A trial's deliverables, oldest first. */
    deliverablesByTrial: DataLoader<string, DeliverableRecord[]>;
    subscriptionById: DataLoader<string, SubscriptionRecord | null>;
    subscriptionByTrial: DataLoader<string, SubscriptionRecord | null>;
    /** An agent's latest reviews, newest first. */
    reviewsByAgent: DataLoader<string, ReviewRecord[]>;
  };
}

export interface ContextDeps {
  listings: ListingModel;
  trials: TrialModel;
  deliverables: DeliverableModel;
  subscriptions: SubscriptionModel;
  reviews: ReviewModel;
  trialOps: Trials;
  commerce: Commerce;
  conversions: Conversions;
  figures: Figures;
  logger: Logger;
  callerSecret: string;
}

/** One context per request: verified caller, trace, and fresh DataLoaders (one batch query per list). */
export function contextFactory(deps: ContextDeps) {
  return async (req: RequestInfo): Promise<Context> => ({
    ...(await createRequestContext(req, deps.logger, deps.callerSecret, 'marketplace')),
    trials: deps.trialOps,
    commerce: deps.commerce,
    conversions: deps.conversions,
    figures: deps.figures,
    loaders: {
      listingById: createByIdLoader(
        (ids) => deps.listings.find({ _id: { $in: ids }, registered: true }).lean<ListingRecord[]>(),
        (l) => l._id,
      ),
      trialById: createByIdLoader(
        (ids) => deps.trials.find({ _id: { $in: ids } }).lean<TrialRecord[]>(),
        (t) => t._id,
      ),
      deliverableById: createByIdLoader(
        (ids) => deps.deliverables.find({ _id: { $in: ids } }).lean<DeliverableRecord[]>(),
        (d) => d._id,
      ),
      deliverablesByTrial: createGroupLoader(
        (ids) =>
          deps.deliverables
            .find({ trialId: { $in: ids } })
            .sort({ createdAt: 1, _id: 1 })
            .lean<DeliverableRecord[]>(),
        (d) => d.trialId,
      ),
      subscriptionById: createByIdLoader(
        (ids) => deps.subscriptions.find({ _id: { $in: ids } }).lean<SubscriptionRecord[]>(),
        (s) => s._id,
      ),
      subscriptionByTrial: createByIdLoader(
        (ids) => deps.subscriptions.find({ trialId: { $in: ids } }).lean<SubscriptionRecord[]>(),
        (s) => s.trialId,
      ),
      reviewsByAgent: createGroupLoader(
        // One batch per request; inside it one small indexed query per listing, because a single
        // query with a global limit would let one much-reviewed agent crowd out the others.
        async (ids) =>
          (
            await Promise.all(
              ids.map((agentId) =>
                deps.reviews
                  .find({ agentId })
                  .sort({ updatedAt: -1, _id: 1 })
                  .limit(MAX_REVIEWS_PER_LISTING)
                  .lean<ReviewRecord[]>(),
              ),
            )
          ).flat(),
        (r) => r.agentId,
      ),
    },
  });
}
