import type { Logger } from '@waooaw/shared';
import type { Conversions } from './conversion';
import type { CounterModel, CounterRecord } from './models/counter';
import type { Trials } from './trials';

export interface SweepResult {
  expired: number;
  reminded: number;
  resumed: number;
  released: number;
  /** Conversions a crash interrupted, finished. */
  converted: number;
}

/**
 * The trial sweep: expiry and reminders are enforced here, in code, rather than by a MongoDB TTL
 * index (docs/architecture.md: expiry must not be relied on); it also resumes activations whose runner
 * died, finishes conversions whose caller died and gives back counter slots a crash left behind.
 */
export function createSweeper(deps: {
  trials: Trials;
  conversions: Pick<Conversions, 'resumeConversions'>;
  counters: CounterModel;
  logger: Logger;
}) {
  return async function sweep(): Promise<SweepResult> {
    const { expired, reminded } = await deps.trials.expireAndRemind();
    const resumed = await deps.trials.resumeActivations();
    const converted = await deps.conversions.resumeConversions();
    const held = await deps.counters
      .find({ count: { $gt: 0 } }, { holders: 1 })
      .limit(1000)
      .lean<Pick<CounterRecord, '_id' | 'holders'>[]>();
    const released = await deps.trials.repairCounters(held);
    if (expired + reminded + resumed + released + converted > 0)
      deps.logger.info({ expired, reminded, resumed, released, converted }, 'trial sweep');
    return { expired, reminded, resumed, released, converted };
  };
}
