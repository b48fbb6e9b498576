import type { TrialStatus } from '@waooaw/shared';
import { endedKey, isRunning } from '../domain/trial-rules';
import { agentCapacityKey, customerSlotKey } from '../models/counter';
import type { TrialRecord } from '../models/trial';
import type { TrialDeps } from './deps';
import { trialEvent } from './records';

type Holder = Pick<TrialRecord, '_id' | 'customerId' | 'agentId'>;

/**
 * A trial's status and the slots it holds while it runs (the customer's concurrent-trial slot, the
 * agent's capacity): every part of a trial moves its status through here, so an ending always frees
 * the running key and gives the slots back.
 */
export function createTrialStatus(deps: TrialDeps) {
  const { trials, counters, clock } = deps;

  const load = (id: string) => trials.findById(id).lean<TrialRecord>();

  /** Takes the customer's concurrent-trial slot: one conditional update, so racing starts cannot exceed it. */
  const takeCustomerSlot = (trial: Pick<TrialRecord, '_id' | 'customerId'>) =>
    counters.acquire(customerSlotKey(trial.customerId), trial._id, deps.rules.maxPerCustomer);

  async function releaseSlots(trial: Holder) {
    await counters.release(customerSlotKey(trial.customerId), trial._id);
    await counters.release(agentCapacityKey(trial.agentId), trial._id);
  }

  /**
   * Moves a trial to `to` if it is still in the status it was read in (optimistic; retried on a
   * race while the move stays allowed). Ending a running trial sets `endedAt`, frees the unique
   * running key and gives the customer's slot and the agent's capacity back.
   */
  async function transition(
    id: string,
    to: TrialStatus,
    from: readonly TrialStatus[],
    extra: { reason?: string | null; unlessConverting?: boolean } = {},
  ): Promise<{ trial: TrialRecord | null; moved: boolean; previous: TrialStatus | null }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await load(id);
      if (!current || !from.includes(current.status)) return { trial: current, moved: false, previous: null };
      if (extra.unlessConverting && current.conversion)
        return { trial: current, moved: false, previous: null };
      const now = clock();
      const ending = isRunning(current.status) && !isRunning(to);
      const updated = await trials
        .findOneAndUpdate(
          // A conversion recorded meanwhile wins over the move (its charge may already be taken).
          { _id: id, status: current.status, ...(extra.unlessConverting ? { conversion: null } : {}) },
          {
            $set: {
              status: to,
              updatedAt: now,
              ...(ending ? { endedAt: now, activeKey: endedKey(id) } : {}),
              ...(extra.reason !== undefined ? { cancelReason: extra.reason } : {}),
            },
            $push: { outbox: trialEvent(deps.bus, current, to, now) },
          },
          { new: true },
        )
        .lean<TrialRecord>();
      if (!updated) continue;
      deps.relay.kick();
      if (ending) await releaseSlots(updated);
      return { trial: updated, moved: true, previous: current.status };
    }
    return { trial: await load(id), moved: false, previous: null };
  }

  return { load, takeCustomerSlot, releaseSlots, transition };
}
export type TrialStatusMoves = ReturnType<typeof createTrialStatus>;
