import { randomUUID } from 'node:crypto';
import type { Caller, Logger } from '@waooaw/shared';
import {
  assertMaxLength,
  badUserInput,
  ErrorCode,
  InputLimits,
  notFound,
  PlatformError,
  requireRole,
} from '@waooaw/shared';
import { assertOwner, assertOwnerOrStaff } from './access';
import type { ActivityLog } from './activity';
import { addOneMonth } from './domain/trial-rules';
import type { Listings } from './listings';
import { isListed } from './listings';
import type { ListingModel, ListingRecord } from './models/listing';
import type { ReviewModel, ReviewRecord } from './models/review';
import { reviewId } from './models/review';
import type { SubscriptionModel, SubscriptionRecord } from './models/subscription';
import type { TrialModel, TrialRecord } from './models/trial';
import type { PaymentProvider } from './payments';
import type { Trials } from './trials';

/** Paid subscriptions (converting a trial, through the payment port) and ratings. */
export function createCommerce(deps: {
  listings: ListingModel;
  trials: TrialModel;
  subscriptions: SubscriptionModel;
  reviews: ReviewModel;
  trialOps: Trials;
  listingOps: Listings;
  activity: ActivityLog;
  payments: PaymentProvider;
  logger: Logger;
  clock: () => Date;
}) {
  const { listings, trials, subscriptions, reviews, activity, clock } = deps;

  async function convert(
    caller: Caller | null,
    trialId: string,
    planId: string,
  ): Promise<SubscriptionRecord> {
    const who = requireRole(caller, 'customer');
    const trial = await trials.findById(trialId).lean<TrialRecord>();
    if (!trial) throw notFound('Trial', trialId);
    assertOwner(who, trial.customerId, 'trial');
    const existing = await subscriptions.findOne({ trialId }).lean<SubscriptionRecord>();
    if (existing) {
      if (existing.plan.id === planId) return existing;
      throw new PlatformError(
        ErrorCode.CONFLICT,
        `This trial was already converted to the ${existing.plan.name} plan (subscription ${existing._id}); cancel that subscription to change plans`,
        { subscriptionId: existing._id },
      );
    }
    if (trial.status !== 'ACTIVE' && trial.status !== 'EXPIRED')
      throw new PlatformError(
        ErrorCode.CONFLICT,
        `This trial is ${trial.status}; only an ACTIVE or EXPIRED trial can be converted (start a new trial otherwise)`,
        { status: trial.status },
      );
    const listing = await listings.findById(trial.agentId).lean<ListingRecord>();
    if (!listing) throw notFound('Listing', trial.agentId);
    const plan = listing.plans.find((p) => p.id === planId);
    if (!plan) {
      const offered = listing.plans
        .map((p) => `${p.id} (${p.name}, ${p.monthlyPriceInr} INR/month)`)
        .join(', ');
      throw badUserInput(
        `${listing.name} has no plan "${planId}"; choose one of: ${offered || 'none (it has no paid plans)'}`,
        { field: 'plan', plans: listing.plans.map((p) => p.id) },
      );
    }
    if (!isListed(listing))
      throw new PlatformError(
        ErrorCode.AGENT_UNAVAILABLE,
        `${listing.name} is ${listing.status ?? 'not ready'} and takes no new subscriptions now`,
        { agentId: listing._id, status: listing.status },
      );

    // The key makes a retry after a crash (or a double click) find the first charge, not make a second.
    const charge = await deps.payments.charge({
      customerId: who.sub,
      amountInr: plan.monthlyPriceInr,
      description: `${listing.name}: ${plan.name} plan, first month`,
      idempotencyKey: `convert:${trialId}:${plan.id}`,
    });
    if (charge.status !== 'SUCCEEDED')
      throw new PlatformError(
        ErrorCode.PAYMENT_DECLINED,
        `The payment of ${plan.monthlyPriceInr} INR was declined${charge.reason ? ` (${charge.reason})` : ''}; nothing was charged and the trial is unchanged: use another payment method and try again`,
        { paymentId: charge.paymentId },
      );

    const now = clock();
    const subscription: SubscriptionRecord = {
      _id: `sub-${randomUUID()}`,
      customerId: who.sub,
      agentId: trial.agentId,
      trialId,
      plan,
      priceInr: plan.monthlyPriceInr,
      status: 'ACTIVE',
      startedAt: now,
      renewsAt: addOneMonth(now),
      cancelledAt: null,
      cancelReason: null,
      paymentId: charge.paymentId,
      createdAt: now,
    };
    let created = subscription;
    try {
      await subscriptions.create(subscription);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 11000) throw err;
      // A concurrent convert of the same trial: one subscription per trial (unique trialId).
      created = (await subscriptions.findOne({ trialId }).lean<SubscriptionRecord>()) ?? subscription;
    }
    await deps.trialOps.transition(trialId, 'CONVERTED', ['ACTIVE', 'EXPIRED']);
    if (created === subscription) {
      await activity.record({
        id: `subscription-started:${subscription._id}`,
        kind: 'SUBSCRIPTION_STARTED',
        message: `A customer subscribed to ${listing.name} (${plan.name} plan)`,
        agentId: listing._id,
        handle: listing.handle,
        category: listing.category,
        customerId: who.sub,
        trialId,
      });
      deps.logger.info({ subscriptionId: subscription._id, trialId, plan: plan.id }, 'trial converted');
    }
    await deps.listingOps.refreshStats(trial.agentId);
    return created;
  }

  async function cancelSubscription(
    caller: Caller | null,
    id: string,
    reason: string | null | undefined,
  ): Promise<SubscriptionRecord> {
    const who = requireRole(caller, 'customer', 'operator', 'admin');
    assertMaxLength('reason', reason, InputLimits.reasonChars);
    const subscription = await subscriptions.findById(id).lean<SubscriptionRecord>();
    if (!subscription) throw notFound('Subscription', id);
    assertOwnerOrStaff(who, subscription.customerId, 'subscription');
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

  return { convert, cancelSubscription, rate };
}
export type Commerce = ReturnType<typeof createCommerce>;
