import type DataLoader from 'dataloader';
import type { Logger, RequestContext, RequestInfo } from '@waooaw/shared';
import { createByIdLoader, createRequestContext } from '@waooaw/shared';
import type { AgentStats } from './stats';
import { agentStatsLoader } from './stats';
import type { TaskModel, TaskRecord } from './models/task';
import type { WorkflowModel, WorkflowRecord } from './models/workflow';
import type { SagaModel, SagaRecord } from './models/saga';
import type { Orchestrator } from './orchestrator';

export interface Context extends RequestContext {
  orchestrator: Orchestrator;
  loaders: {
    taskById: DataLoader<string, TaskRecord | null>;
    workflowById: DataLoader<string, WorkflowRecord | null>;
    sagaById: DataLoader<string, SagaRecord | null>;
    statsByAgent: DataLoader<string, AgentStats>;
  };
}

/** One context per request: verified caller, trace, and fresh DataLoaders. */
export function contextFactory(deps: {
  tasks: TaskModel;
  workflows: WorkflowModel;
  sagas: SagaModel;
  orchestrator: Orchestrator;
  logger: Logger;
  callerSecret: string;
}) {
  return async (req: RequestInfo): Promise<Context> => ({
    ...(await createRequestContext(req, deps.logger, deps.callerSecret, 'orchestration')),
    orchestrator: deps.orchestrator,
    loaders: {
      taskById: createByIdLoader(
        (ids) => deps.tasks.find({ _id: { $in: ids } }).lean<TaskRecord[]>(),
        (t) => t._id,
      ),
      workflowById: createByIdLoader(
        (ids) => deps.workflows.find({ _id: { $in: ids } }).lean<WorkflowRecord[]>(),
        (w) => w._id,
      ),
      sagaById: createByIdLoader(
        (ids) => deps.sagas.find({ _id: { $in: ids } }).lean<SagaRecord[]>(),
        (s) => s._id,
      ),
      statsByAgent: agentStatsLoader(deps.tasks),
    },
  });
}
