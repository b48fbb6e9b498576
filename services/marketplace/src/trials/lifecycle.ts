import type { Caller } from '@waooaw/shared';
import { ErrorCode, loadOwnedForChange, PlatformError } from '@waooaw/shared';
import { dueReminders, isRunning, TRIAL_REMINDERS } from '../domain/trial-rules';
import type { TrialRecord } from '../models/trial';
import type { TrialDeps } from './deps';
import { aboutTrial } from './records';
import type { TrialStatusMoves } from './status';

/** A trial whose conversion was asked for is not cancelled: the customer may already be charged. */
function beingConverted(trial: TrialRecord) {
  const plan = trial.conversion!.plan;
  return new PlatformError(
    ErrorCode.CONFLICT,
    `This trial is being converted to the ${plan.name} plan (subscription ${trial.conversion!.subscriptionId}); cancel that subscription instead of the trial`,
    { subscriptionId: trial.conversion!.subscriptionId, plan: plan.id },
  );
}

/**
 * How a running trial ends other than by converting (conversion.ts): cancelled by its customer or
 * staff, or expired by the sweep, which also sends the reminders before the end and gives back
 * counter slots a crash left held by trials that no longer run.
 */
export function createLifecycle(deps: TrialDeps, status: TrialStatusMoves) {
  const { trials, counters, activity, clock } = deps;
  const { load, transition } = status;

  async function cancel(
    caller: Caller | null,
    id: string,
    reason: string | null | undefined,
  ): Promise<TrialRecord> {
    const { who, record: trial } = await loadOwnedForChange(
      caller,
      { entity: 'Trial', id, what: 'trial', reason },
      () => load(id),
    );
    if (!isRunning(trial.status)) return trial;
    if (trial.conversion) throw beingConverted(trial);
    const why = reason?.trim()
      ? reason.trim().slice(0, 500)
      : `cancelled by ${who.sub === trial.customerId ? 'the customer' : who.sub}`;
    const {
      trial: cancelled,
      moved,
      previous,
    } = await transition(id, 'CANCELLED', ['PROVISIONING', 'ACTIVE'], {
      reason: why,
      unlessConverting: true,
    });
    if (!moved && cancelled?.conversion && isRunning(cancelled.status)) throw beingConverted(cancelled);
    if (moved && previous === 'ACTIVE') {
      await activity.record({
        id: `trial-ended:${id}`,
        kind: 'TRIAL_ENDED',
        message: `A free trial of ${trial.agentName} was cancelled`,
        ...aboutTrial(trial),
      });
    }
    return cancelled ?? trial;
  }

  /** Trials past their end become EXPIRED (TRIAL_ENDED); reminders go out 2 days, 1 day and 6 hours before. */
  async function expireAndRemind(): Promise<{ expired: number; reminded: number }> {
    const now = clock();
    let expired = 0;
    let reminded = 0;
    const due = await trials
      .find({ status: 'ACTIVE', endsAt: { $lte: now } }, { _id: 1 })
      .limit(500)
      .lean<Pick<TrialRecord, '_id'>[]>();
    for (const { _id } of due) {
      const { trial, moved } = await transition(_id, 'EXPIRED', ['ACTIVE']);
      if (!moved || !trial) continue;
      expired++;
      await activity.record({
        id: `trial-ended:${_id}`,
        kind: 'TRIAL_ENDED',
        message: `A ${trial.trialDays}-day free trial of ${trial.agentName} ended`,
        ...aboutTrial(trial),
      });
      await deps.listingOps.refreshStats(trial.agentId);
    }
    const furthest = Math.max(...TRIAL_REMINDERS.map((r) => r.beforeEndMs));
    const soon = await trials
      .find({
        status: 'ACTIVE',
        endsAt: { $gt: now, $lte: new Date(now.getTime() + furthest) },
        remindersSent: { $nin: [TRIAL_REMINDERS.at(-1)!.key] },
      })
      .limit(500)
      .lean<TrialRecord[]>();
    for (const trial of soon) {
      const reminder = dueReminders(trial.endsAt!, trial.remindersSent, now);
      if (!reminder) continue;
      // The activity first (its id makes it once per reminder), then the mark: a crash in between
      // only means the next sweep marks it.
      await activity.record({
        id: `trial-reminder:${trial._id}:${reminder.announce.key}`,
        kind: 'TRIAL_REMINDER',
        message: `A free trial of ${trial.agentName} ends in ${reminder.announce.label}`,
        ...aboutTrial(trial),
      });
      await trials.updateOne(
        { _id: trial._id, status: 'ACTIVE' },
        { $addToSet: { remindersSent: { $each: reminder.due } } },
      );
      reminded++;
    }
    return { expired, reminded };
  }

  /** Gives back slots whose trial no longer runs (a crash between ending a trial and releasing). */
  async function repairCounters(counterHolders: { _id: string; holders: string[] }[]): Promise<number> {
    const ids = [...new Set(counterHolders.flatMap((c) => c.holders))];
    if (ids.length === 0) return 0;
    const running = new Set(
      (
        await trials
          .find({ _id: { $in: ids }, status: { $in: ['PROVISIONING', 'ACTIVE'] } }, { _id: 1 })
          .lean<Pick<TrialRecord, '_id'>[]>()
      ).map((t) => t._id),
    );
    let released = 0;
    for (const counter of counterHolders) {
      for (const holder of counter.holders) {
        if (running.has(holder)) continue;
        await counters.release(counter._id, holder);
        released++;
      }
    }
    return released;
  }

  return { cancel, expireAndRemind, repairCounters };
}
