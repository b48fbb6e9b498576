import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Caller } from '@waooaw/shared';
import {
  assertMaxBytes,
  badUserInput,
  businessContextSchema,
  ErrorCode,
  InputLimits,
  isDuplicateKey,
  parseInput,
  PlatformError,
  requireRole,
} from '@waooaw/shared';
import { cooldownEndsAt, runningKey } from '../domain/trial-rules';
import { customerSlotKey } from '../models/counter';
import { isListed } from '../listings';
import type { ListingRecord } from '../models/listing';
import type { TrialRecord } from '../models/trial';
import { TRIAL_STEP_NAMES } from '../models/trial';
import type { Activation } from './activation';
import { activationLeaseEnd } from './activation';
import type { TrialDeps } from './deps';
import { iso, trialEvent } from './records';
import type { TrialStatusMoves } from './status';

const startInput = z.object({
  agentId: z.string().trim().min(1, 'agentId is required (the id of a listing)'),
  businessContext: z.unknown(),
});

function alreadyActive(listing: ListingRecord, running: TrialRecord | null) {
  return new PlatformError(
    ErrorCode.TRIAL_ALREADY_ACTIVE,
    `You already have a running trial of ${listing.name}${running ? ` (${running._id})` : ''}; use it, or cancel it before starting another`,
    { trialId: running?._id ?? null },
  );
}

/**
 * Starting a trial: the caller and input checks, the listing taking trials, one running trial per
 * customer and agent, the cooldown after the last one, and the customer's concurrent-trial quota;
 * an admitted trial is announced PROVISIONING and handed to its activation.
 */
export function createAdmission(deps: TrialDeps, status: TrialStatusMoves, activation: Activation) {
  const { trials, listings, logger, clock, rules } = deps;

  async function start(
    caller: Caller | null,
    input: { agentId: string; businessContext: unknown },
  ): Promise<TrialRecord> {
    const who = requireRole(caller, 'customer');
    const { agentId } = parseInput(startInput, input, 'input');
    const context = input.businessContext;
    if (typeof context !== 'object' || context === null || Array.isArray(context))
      throw badUserInput(
        'input.businessContext must be an object such as { "businessName": "Sunrise Clinic" }',
        {
          field: 'input.businessContext',
        },
      );
    assertMaxBytes('input.businessContext', context, InputLimits.businessContextBytes);
    const businessContext = parseInput(businessContextSchema, context, 'businessContext');

    const listing = await listings.findById(agentId).lean<ListingRecord>();
    if (!listing?.registered)
      throw new PlatformError(
        ErrorCode.NOT_FOUND,
        `No marketplace listing has id "${agentId}"; pick an agent from listings`,
        { entity: 'Listing', id: agentId },
      );
    if (!isListed(listing))
      throw new PlatformError(
        ErrorCode.AGENT_UNAVAILABLE,
        `${listing.name} is ${listing.status ?? 'not ready'} and takes no trials now; choose another agent`,
        { agentId, status: listing.status },
      );

    const running = await trials.findOne({ activeKey: runningKey(who.sub, agentId) }).lean<TrialRecord>();
    if (running) throw alreadyActive(listing, running);

    const now = clock();
    const previous = await trials
      .findOne({ customerId: who.sub, agentId, 'activation.state': 'COMPLETED', endedAt: { $ne: null } })
      .sort({ endedAt: -1 })
      .lean<TrialRecord>();
    const until = cooldownEndsAt(previous?.endedAt ?? null, rules.cooldownDays);
    if (previous && until && until > now)
      throw new PlatformError(
        ErrorCode.TRIAL_COOLDOWN,
        `Your trial of ${listing.name} ended on ${iso(previous.endedAt!)}; you can start another trial of it from ${iso(until)} (${rules.cooldownDays}-day cooldown); its deliverables stay readable.`,
        { availableFrom: iso(until), previousTrialId: previous._id, cooldownDays: rules.cooldownDays },
      );

    const id = `trial-${randomUUID()}`;
    const record: TrialRecord = {
      _id: id,
      customerId: who.sub,
      agentId,
      handle: listing.handle,
      agentName: listing.name,
      category: listing.category,
      trialDays: listing.trialDays,
      businessContext,
      status: 'PROVISIONING',
      activeKey: runningKey(who.sub, agentId),
      createdAt: now,
      startedAt: null,
      endsAt: null,
      endedAt: null,
      cancelReason: null,
      activation: {
        state: 'RUNNING',
        admitted: false,
        steps: TRIAL_STEP_NAMES.map((name) => ({ name, status: 'PENDING', at: null, error: null })),
        lockedUntil: activationLeaseEnd(),
      },
      remindersSent: [],
      tasks: [],
      appliedEventIds: [],
      outbox: [],
      outboxLockedUntil: null,
      updatedAt: now,
    };
    try {
      await trials.create(record);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A concurrent start of the same customer and agent won the unique running key.
      const winner = await trials.findOne({ activeKey: record.activeKey }).lean<TrialRecord>();
      throw alreadyActive(listing, winner);
    }
    if (!(await status.takeCustomerSlot(record))) {
      await trials.deleteOne({ _id: id, status: 'PROVISIONING' });
      const holders = await deps.counters.holdersOf(customerSlotKey(who.sub));
      throw new PlatformError(
        ErrorCode.TRIAL_LIMIT_REACHED,
        `You already have ${rules.maxPerCustomer} trials running (the most at once); cancel or convert one of them (${holders.join(', ')}) before starting another`,
        { limit: rules.maxPerCustomer, trialIds: holders },
      );
    }
    // Announced only once admitted: a refused start leaves no trace for consumers to clean up.
    await trials.updateOne(
      { _id: id },
      {
        $set: { 'activation.admitted': true },
        $push: { outbox: trialEvent(deps.bus, record, 'PROVISIONING', now) },
      },
    );
    logger.info({ trialId: id, agentId, customerId: who.sub }, 'trial requested');
    return (await activation.runActivation(id)) ?? record;
  }

  return { start };
}
