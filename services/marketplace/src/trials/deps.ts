import type { EventBus, Logger, OutboxRelay } from '@waooaw/shared';
import type { ActivityLog } from '../activity';
import type { Listings } from '../listings';
import type { Counters } from '../models/counter';
import type { DeliverableModel } from '../models/deliverable';
import type { ListingModel } from '../models/listing';
import type { TrialModel, TrialRecord, TrialStepName } from '../models/trial';

export interface TrialRules {
  /** Days before a customer may trial the same agent again (MARKETPLACE_TRIAL_COOLDOWN_DAYS). */
  cooldownDays: number;
  /** Concurrent trials (PROVISIONING or ACTIVE) per customer. */
  maxPerCustomer: number;
  /** Concurrent trials per agent (MARKETPLACE_MAX_TRIALS_PER_AGENT). */
  maxPerAgent: number;
  /** Tasks one trial may ask for. */
  maxTasksPerTrial: number;
}

/** Test seam: runs before each activation step; throwing makes the step fail. */
export type StepHook = (step: TrialStepName, trial: TrialRecord) => Promise<void> | void;

/** What the trial modules are built from. Time comes from `clock`, so tests control it. */
export interface TrialDeps {
  trials: TrialModel;
  listings: ListingModel;
  deliverables: DeliverableModel;
  counters: Counters;
  listingOps: Listings;
  activity: ActivityLog;
  bus: Pick<EventBus, 'source'>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  clock: () => Date;
  rules: TrialRules;
  beforeStep?: StepHook;
}
