import { createHash } from 'node:crypto';
import type { Caller, Logger } from '@waooaw/shared';
import {
  badUserInput,
  ErrorCode,
  isDuplicateKey,
  notFound,
  PlatformError,
  requireRole,
} from '@waooaw/shared';
import { assertOwner } from './access';
import type { ActivityLog } from './activity';
import { addOneMonth } from './domain/trial-rules';
import type { Listings } from './listings';
import { isListed } from './listings';
import type { ListingModel, ListingRecord, PlanRecord } from './models/listing';
import type { SubscriptionModel, SubscriptionRecord } from './models/subscription';
import type { TrialConversionRecord, TrialModel, TrialRecord } from './models/trial';
import type { PaymentProvider } from './payments';
import type { Trials } from './trials';

/**
 * The steps of a conversion after its intent is recorded, in order. Each is idempotent, so a retry,
 * a concurrent call or the sweep may run any of them again: the charge carries the trial's payment
 * key, the subscription has a fixed id (and one per trial), the activity has a fixed id, and the
 * trial moves to CONVERTED only from ACTIVE or EXPIRED.
 */
export const CONVERSION_STEPS = ['CHARGE', 'SUBSCRIBE', 'ANNOUNCE', 'CONVERT'] as const;
export type ConversionStep = (typeof CONVERSION_STEPS)[number];

/** Test seam: runs before each conversion step; throwing stands in for a crash right there. */
export type ConversionHook = (step: ConversionStep, trialId: string) => Promise<void> | void;

/** How long a caller owns a conversion before the sweep may finish it. */
const CONVERSION_LEASE_MS = 30_000;

/** One payment key per trial, whatever the plan: a trial is paid for once. */
export const conversionKeyOf = (trialId: string) => `convert:${trialId}`;

/** The subscription a trial converts into has an id fixed by the trial. */
export const subscriptionIdOf = (trialId: string) =>
  `sub-${createHash('sha256').update(trialId).digest('hex').slice(0, 24)}`;

type Converting = TrialRecord & { conversion: TrialConversionRecord };

/**
 * Converting a trial into a paid subscription, so that money moves once: the plan and the payment
 * key are recorded on the trial first, then the card is charged, the subscription created, the
 * activity announced and the trial marked CONVERTED. A crash anywhere leaves the intent behind; the
 * next convertTrial call or the sweep (after the lease) finishes it with the same key, so the
 * provider hands back the first charge rather than taking a second.
 */
export function createConversions(deps: {
  listings: ListingModel;
  trials: TrialModel;
  subscriptions: SubscriptionModel;
  trialOps: Pick<Trials, 'transition'>;
  listingOps: Pick<Listings, 'refreshStats'>;
  activity: ActivityLog;
  payments: PaymentProvider;
  logger: Logger;
  clock: () => Date;
  beforeStep?: ConversionHook;
}) {
  const { listings, trials, subscriptions, activity, logger, clock } = deps;
  /** Leases use the wall clock: they are about processes, not about the domain's time. */
  const leaseEnd = () => new Date(Date.now() + CONVERSION_LEASE_MS);

  function otherPlan(conversion: TrialConversionRecord, done: boolean) {
    return new PlatformError(
      ErrorCode.CONFLICT,
      done
        ? `This trial was already converted to the ${conversion.plan.name} plan (subscription ${conversion.subscriptionId}); cancel that subscription to change plans`
        : `This trial is being converted to the ${conversion.plan.name} plan (subscription ${conversion.subscriptionId}); convert it with plan "${conversion.plan.id}" to finish, then cancel that subscription to change plans`,
      { subscriptionId: conversion.subscriptionId, plan: conversion.plan.id },
    );
  }

  /** Runs the conversion's remaining steps; each may already be done. */
  async function finish(trial: Converting): Promise<SubscriptionRecord> {
    const { conversion } = trial;
    const step = async (name: ConversionStep) => deps.beforeStep?.(name, trial._id);
    let subscription = await subscriptions.findOne({ trialId: trial._id }).lean<SubscriptionRecord>();
    if (!subscription) {
      await step('CHARGE');
      // Charged before the crash: the payment is known, the processor need not be asked again (it
      // would answer with the same payment; the key is what makes a lost answer safe).
      const charge = conversion.paymentId
        ? { paymentId: conversion.paymentId, status: 'SUCCEEDED' as const }
        : await deps.payments.charge({
            customerId: trial.customerId,
            amountInr: conversion.plan.monthlyPriceInr,
            description: `${trial.agentName}: ${conversion.plan.name} plan, first month`,
            idempotencyKey: conversion.idempotencyKey,
          });
      if (charge.status !== 'SUCCEEDED') {
        // Nothing was taken: forget the intent, so the customer may try again (another plan too).
        await trials.updateOne(
          { _id: trial._id, 'conversion.idempotencyKey': conversion.idempotencyKey },
          { $set: { conversion: null } },
        );
        throw new PlatformError(
          ErrorCode.PAYMENT_DECLINED,
          `The payment of ${conversion.plan.monthlyPriceInr} INR was declined${'reason' in charge && charge.reason ? ` (${charge.reason})` : ''}; nothing was charged and the trial is unchanged: use another payment method and try again`,
          { paymentId: charge.paymentId },
        );
      }
      await trials.updateOne(
        { _id: trial._id, 'conversion.idempotencyKey': conversion.idempotencyKey },
        { $set: { 'conversion.paymentId': charge.paymentId } },
      );
      await step('SUBSCRIBE');
      const now = clock();
      const record: SubscriptionRecord = {
        _id: conversion.subscriptionId,
        customerId: trial.customerId,
        agentId: trial.agentId,
        trialId: trial._id,
        plan: conversion.plan,
        priceInr: conversion.plan.monthlyPriceInr,
        status: 'ACTIVE',
        startedAt: now,
        renewsAt: addOneMonth(now),
        cancelledAt: null,
        cancelReason: null,
        paymentId: charge.paymentId,
        createdAt: now,
      };
      try {
        await subscriptions.create(record);
        subscription = record;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Created by a concurrent call finishing the same conversion (one subscription per trial).
        subscription = await subscriptions.findOne({ trialId: trial._id }).lean<SubscriptionRecord>();
        if (!subscription) throw err;
      }
    }
    await step('ANNOUNCE');
    // Before the trial moves: once it is CONVERTED, nothing would announce it any more.
    await activity.record({
      id: `subscription-started:${subscription._id}`,
      kind: 'SUBSCRIPTION_STARTED',
      message: `A customer subscribed to ${trial.agentName} (${subscription.plan.name} plan)`,
      agentId: trial.agentId,
      handle: trial.handle,
      category: trial.category,
      customerId: trial.customerId,
      trialId: trial._id,
    });
    await step('CONVERT');
    const { moved } = await deps.trialOps.transition(trial._id, 'CONVERTED', ['ACTIVE', 'EXPIRED']);
    await trials.updateOne(
      { _id: trial._id, 'conversion.completedAt': null },
      {
        $set: {
          'conversion.completedAt': clock(),
          'conversion.lockedUntil': null,
          'conversion.paymentId': subscription.paymentId,
        },
      },
    );
    if (moved)
      logger.info(
        { subscriptionId: subscription._id, trialId: trial._id, plan: subscription.plan.id },
        'trial converted',
      );
    await deps.listingOps.refreshStats(trial.agentId);
    return subscription;
  }

  /** The plan of the listing the caller asks for, or the error that says what to ask instead. */
  async function planOf(trial: TrialRecord, planId: string): Promise<PlanRecord> {
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
    return plan;
  }

  async function convert(
    caller: Caller | null,
    trialId: string,
    planId: string,
  ): Promise<SubscriptionRecord> {
    const who = requireRole(caller, 'customer');
    for (let attempt = 0; attempt < 3; attempt++) {
      const trial = await trials.findById(trialId).lean<TrialRecord>();
      if (!trial) throw notFound('Trial', trialId);
      assertOwner(who, trial.customerId, 'trial');
      if (trial.conversion) {
        // In flight or done: finish it on its own plan; another plan is never charged.
        if (trial.conversion.plan.id !== planId)
          throw otherPlan(trial.conversion, trial.conversion.completedAt !== null);
        if (trial.conversion.completedAt) {
          const done = await subscriptions.findOne({ trialId }).lean<SubscriptionRecord>();
          if (done) return done;
        }
        return finish(trial as Converting);
      }
      // A subscription without a recorded intent was made before intents were recorded: adopt it.
      const existing = await subscriptions.findOne({ trialId }).lean<SubscriptionRecord>();
      const plan = existing?.plan ?? (await planOf(trial, planId));
      const conversion: TrialConversionRecord = {
        plan,
        idempotencyKey: conversionKeyOf(trialId),
        subscriptionId: existing?._id ?? subscriptionIdOf(trialId),
        paymentId: existing?.paymentId ?? null,
        requestedBy: who.sub,
        requestedAt: clock(),
        lockedUntil: leaseEnd(),
        completedAt: null,
      };
      const recorded = await trials
        .findOneAndUpdate(
          {
            _id: trialId,
            conversion: null,
            status: { $in: existing ? ['ACTIVE', 'EXPIRED', 'CONVERTED'] : ['ACTIVE', 'EXPIRED'] },
          },
          { $set: { conversion } },
          { new: true },
        )
        .lean<TrialRecord>();
      // Lost to a concurrent convert or a cancel: read the trial again and answer from what won.
      if (!recorded) continue;
      if (existing && existing.plan.id !== planId) throw otherPlan(conversion, true);
      return finish(recorded as Converting);
    }
    throw new PlatformError(
      ErrorCode.CONFLICT,
      `Trial ${trialId} kept changing while it was being converted; try again`,
    );
  }

  /** Finishes conversions whose caller died (their lease ran out); returns how many. */
  async function resumeConversions(): Promise<number> {
    let resumed = 0;
    for (;;) {
      const now = new Date();
      const claimed = await trials
        .findOneAndUpdate(
          { 'conversion.completedAt': null, 'conversion.lockedUntil': { $lt: now } },
          { $set: { 'conversion.lockedUntil': leaseEnd() } },
          { new: true },
        )
        .lean<TrialRecord>();
      if (!claimed?.conversion) return resumed;
      resumed++;
      logger.info({ trialId: claimed._id }, 'finishing an interrupted trial conversion');
      try {
        await finish(claimed as Converting);
      } catch (err) {
        // A declined card forgot the intent; anything else is tried again when the lease runs out.
        logger.warn({ err, trialId: claimed._id }, 'an interrupted trial conversion did not finish');
      }
    }
  }

  return { convert, resumeConversions };
}
export type Conversions = ReturnType<typeof createConversions>;
