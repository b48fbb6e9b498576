import type { Caller } from '@waooaw/shared';
import { ErrorCode, PlatformError } from '@waooaw/shared';
import type { TaskModel } from './models/task';
import type { WorkflowModel } from './models/workflow';

export interface QuotaLimits {
  /** Tasks (SUBMITTED or WORKING) one customer may have at once (MAX_QUEUED_TASKS_PER_CUSTOMER). */
  queuedTasksPerCustomer: number;
  /** Workflows RUNNING at once per customer (MAX_RUNNING_WORKFLOWS_PER_CUSTOMER). */
  runningWorkflowsPerCustomer: number;
}

/** The customer a caller's submissions count against; staff (operators, admins) are not limited. */
export const quotaHolder = (who: Caller): string | null => (who.roles.includes('customer') ? who.sub : null);

/**
 * Per-customer bounds on queued work, so one customer cannot fill orchestration's queue (and its
 * memory) for everyone. The counts come from the database: every task and workflow of a customer
 * is there with its status, whichever process accepted it, so the limit holds across restarts and
 * replicas without a counter to keep in step. Each count reads at most `limit` index entries
 * ({customerId, status}), so it stays cheap however much a customer has queued. Two submissions
 * racing past the last free place may both get in: the bound is soft by the few in flight.
 *
 * Staff are exempt: operators and admins run the platform (the bench submits hundreds of tasks a
 * second as one operator), and their tasks carry no customer. What bounds memory for them is the
 * queue keeping no inputs (engine.ts), a few hundred bytes per queued task.
 */
export function createQuotas(deps: { tasks: TaskModel; workflows: WorkflowModel; limits: QuotaLimits }) {
  const { limits } = deps;
  return {
    /** Refuses a customer who already has as many tasks queued or running as allowed. */
    async assertTaskRoom(customerId: string | null): Promise<void> {
      if (customerId === null) return;
      const limit = limits.queuedTasksPerCustomer;
      const queued = await deps.tasks.countDocuments(
        { customerId, status: { $in: ['SUBMITTED', 'WORKING'] } },
        { limit },
      );
      if (queued >= limit)
        throw new PlatformError(
          ErrorCode.QUOTA_EXCEEDED,
          `You have ${queued} task${queued === 1 ? '' : 's'} queued or running, the most one customer may have at once; wait for some to finish, or cancel those you no longer need (cancelTask), then submit again`,
          { limit, queued },
        );
    },
    /** Refuses a customer who already has as many workflows running as allowed. */
    async assertWorkflowRoom(customerId: string | null): Promise<void> {
      if (customerId === null) return;
      const limit = limits.runningWorkflowsPerCustomer;
      const running = await deps.workflows.countDocuments({ customerId, status: 'RUNNING' }, { limit });
      if (running >= limit)
        throw new PlatformError(
          ErrorCode.QUOTA_EXCEEDED,
          `You have ${running} workflow${running === 1 ? '' : 's'} running, the most one customer may have at once; wait for one to finish, or cancel one you no longer need (cancelWorkflow), then submit again`,
          { limit, running },
        );
    },
  };
}

export type Quotas = ReturnType<typeof createQuotas>;
