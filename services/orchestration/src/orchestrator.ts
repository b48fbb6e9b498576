import type { Caller } from '@waooaw/shared';
import { isDuplicateKey, loadOwnedForChange, OWNER_OR_STAFF_ROLES, requireRole } from '@waooaw/shared';
import type { TaskEngine } from './engine';
import type { TaskModel, TaskRecord } from './models/task';
import type { WorkflowModel, WorkflowRecord } from './models/workflow';
import type { Quotas } from './quota';
import { quotaHolder } from './quota';
import type { InstanceReplica } from './replica';
import type { SagaEngine } from './sagas';
import type { SubmissionDefaults } from './submission';
import { assertTaskInputs, buildTask } from './submission';
import type { WorkflowEngine } from './workflows';

/** The use cases behind the GraphQL API, with who may do what. */
export function createOrchestrator(deps: {
  tasks: TaskModel;
  engine: TaskEngine;
  workflows: WorkflowEngine;
  workflowRecords: WorkflowModel;
  sagas: SagaEngine;
  replica: InstanceReplica;
  defaults: SubmissionDefaults;
  quotas: Quotas;
  now?: () => number;
}) {
  const clock = deps.now ?? Date.now;
  return {
    async submitTask(input: unknown, caller: Caller | null): Promise<TaskRecord> {
      const who = requireRole(caller, ...OWNER_OR_STAFF_ROLES);
      assertTaskInputs([{ field: 'input.input', input: (input as { input?: unknown } | null)?.input }]);
      const task = buildTask(input, who, { replica: deps.replica, defaults: deps.defaults, now: clock() });
      if (task.idempotencyKey) {
        const existing = await deps.tasks.findById(task._id).lean<TaskRecord>();
        if (existing) return existing;
      }
      // A task REJECTED at once is stored final: it takes no place in the queue.
      if (task.status === 'SUBMITTED') await deps.quotas.assertTaskRoom(task.customerId);
      try {
        return await deps.engine.accept(task);
      } catch (err) {
        // The same idempotency key submitted concurrently: the first one wins.
        if (isDuplicateKey(err) && task.idempotencyKey) {
          const existing = await deps.tasks.findById(task._id).lean<TaskRecord>();
          if (existing) return existing;
        }
        throw err;
      }
    },
    async cancelTask(
      id: string,
      reason: string | null | undefined,
      caller: Caller | null,
    ): Promise<TaskRecord> {
      const { who, record: task } = await loadOwnedForChange(
        caller,
        { entity: 'Task', id, what: 'task', reason },
        () => deps.tasks.findById(id).lean<TaskRecord>(),
      );
      return (await deps.engine.cancel(id, reason?.trim() || `canceled by ${who.sub}`)) ?? task;
    },
    async submitWorkflow(input: unknown, caller: Caller | null) {
      const who = requireRole(caller, ...OWNER_OR_STAFF_ROLES);
      // Its nodes become the customer's tasks: it needs room for workflows and for tasks.
      await deps.quotas.assertWorkflowRoom(quotaHolder(who));
      await deps.quotas.assertTaskRoom(quotaHolder(who));
      return deps.workflows.submit(input, who);
    },
    async cancelWorkflow(id: string, reason: string | null | undefined, caller: Caller | null) {
      const { who, record: existing } = await loadOwnedForChange(
        caller,
        { entity: 'Workflow', id, what: 'workflow', reason },
        () => deps.workflowRecords.findById(id).lean<WorkflowRecord>(),
      );
      return (await deps.workflows.cancel(id, reason?.trim() || `canceled by ${who.sub}`)) ?? existing;
    },
    submitSaga: (input: unknown, caller: Caller | null) =>
      deps.sagas.submit(input, requireRole(caller, 'operator', 'admin')),
  };
}

export type Orchestrator = ReturnType<typeof createOrchestrator>;
