import type { Caller } from '@waooaw/shared';
import {
  assertMaxLength,
  badUserInput,
  ErrorCode,
  InputLimits,
  loadOwnedForChange,
  PlatformError,
  requireRole,
} from '@waooaw/shared';
import type { ActivityLog } from './activity';
import type { Listings } from './listings';
import type { ListingModel, ListingRecord } from './models/listing';
import type { ReviewModel, ReviewRecord } from './models/review';
import { reviewId } from './models/review';
import type { SubscriptionModel, SubscriptionRecord } from './models/subscription';
import type { TrialModel } from './models/trial';

/** Cancelling paid subscriptions, and ratings (converting a trial into one is conversion.ts). */
export function createCommerce(deps: {
  listings: ListingModel;
  trials: TrialModel;
  subscriptions: SubscriptionModel;
  reviews: ReviewModel;
  listingOps: Listings;
  activity: ActivityLog;
  clock: () => Date;
}) {
  const { listings, trials, subscriptions, reviews, activity, clock } = deps;

  async function cancelSubscription(
    caller: Caller | null,
    id: string,
    reason: string | null | undefined,
  ): Promise<SubscriptionRecord> {
    const { who, record: subscription } = await loadOwnedForChange(
      caller,
      { entity: 'Subscription', id, what: 'subscription', reason },
      () => subscriptions.findById(id).lean<SubscriptionRecord>(),
    );
    if (subscription.status !== 'ACTIVE') return subscription;
    const now = clock();
    const cancelled = await subscriptions
      .findOneAndUpdate(
        { _id: id, status: 'ACTIVE' },
        {
          $set: {
            status: 'CANCELLED',
            cancelledAt: now,
            cancelReason: reason?.trim() ? reason.trim().slice(0, 500) : `cancelled by ${who.sub}`,
          },
        },
        { new: true },
      )
      .lean<SubscriptionRecord>();
    await deps.listingOps.refreshStats(subscription.agentId);
    return cancelled ?? (await subscriptions.findById(id).lean<SubscriptionRecord>()) ?? subscription;
  }

  async function rate(
    caller: Caller | null,
    agentId: string,
    stars: number,
    comment: string | null | undefined,
  ): Promise<ReviewRecord> {
    const who = requireRole(caller, 'customer');
    if (!Number.isInteger(stars) || stars < 1 || stars > 5)
      throw badUserInput(`stars must be a whole number from 1 to 5 (got ${stars})`, { field: 'stars' });
    const text = comment?.trim() || null;
    assertMaxLength('comment', text, InputLimits.reviewTextChars);
    const listing = await listings.findById(agentId).lean<ListingRecord>();
    if (!listing?.registered)
      throw new PlatformError(ErrorCode.NOT_FOUND, `No marketplace listing has id "${agentId}"`, {
        entity: 'Listing',
        id: agentId,
      });
    const [trialled, subscribed] = await Promise.all([
      trials.exists({ customerId: who.sub, agentId, 'activation.state': 'COMPLETED' }),
      subscriptions.exists({ customerId: who.sub, agentId }),
    ]);
    if (!trialled && !subscribed)
      throw new PlatformError(
        ErrorCode.FORBIDDEN,
        `Only customers who trialled or subscribed to ${listing.name} can rate it; start a trial first`,
      );
    const now = clock();
    const review = await reviews
      .findOneAndUpdate(
        { _id: reviewId(agentId, who.sub) },
        {
          $set: { agentId, customerId: who.sub, stars, comment: text, updatedAt: now },
          $setOnInsert: { createdAt: now },
        },
        { upsert: true, new: true },
      )
      .lean<ReviewRecord>();
    await deps.listingOps.refreshRating(agentId);
    await activity.record({
      kind: 'REVIEW_POSTED',
      message: `A customer rated ${listing.name} ${stars}/5`,
      agentId,
      handle: listing.handle,
      category: listing.category,
      customerId: who.sub,
    });
    return review;
  }

  return { cancelSubscription, rate };
}
export type Commerce = ReturnType<typeof createCommerce>;
