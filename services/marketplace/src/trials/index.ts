import { createActivation } from './activation';
import { createAdmission } from './admission';
import type { TrialDeps } from './deps';
import { createLifecycle } from './lifecycle';
import { createTrialStatus } from './status';
import { createTrialTasks } from './tasks';

export type { StepHook, TrialRules } from './deps';

/**
 * Trials, put together from their parts: admission (starting one), activation (the saga that sets it
 * up), tasks and deliverables, and lifecycle (cancel, expiry and reminders, the sweep's repairs), all
 * moving the trial's status through one place (status.ts). Conversion to a paid plan is conversion.ts.
 */
export function createTrials(deps: TrialDeps) {
  const status = createTrialStatus(deps);
  const activation = createActivation(deps, status);
  const { start } = createAdmission(deps, status, activation);
  const { requestTask, onTaskUpdated } = createTrialTasks(deps, status);
  const { cancel, expireAndRemind, repairCounters } = createLifecycle(deps, status);
  return {
    start,
    cancel,
    requestTask,
    transition: status.transition,
    onTaskUpdated,
    expireAndRemind,
    resumeActivations: activation.resumeActivations,
    repairCounters,
    runActivation: activation.runActivation,
  };
}
export type Trials = ReturnType<typeof createTrials>;
