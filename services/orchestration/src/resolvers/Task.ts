import { readOwned } from '@waooaw/shared';
import type {
  SagaResolvers,
  TaskAttemptResolvers,
  TaskResolvers,
  WorkflowNodeResolvers,
  WorkflowResolvers,
} from '../__generated__/resolvers-types';
import { sagaTaskId } from '../models/saga';

export const taskResolvers: TaskResolvers = {
  __resolveReference: (reference, ctx) =>
    readOwned(ctx.caller, 'task', () => ctx.loaders.taskById.load(reference.id)),
  id: (t) => t._id,
  input: (t) =>
    typeof t.input === 'object' && t.input !== null
      ? (t.input as Record<string, unknown>)
      : { value: t.input },
  agent: (t) => (t.agentId ? { id: t.agentId } : null),
  workflow: (t, _args, ctx) => (t.workflowId ? ctx.loaders.workflowById.load(t.workflowId) : null),
  saga: (t, _args, ctx) => (t.saga ? ctx.loaders.sagaById.load(t.saga.sagaId) : null),
};

export const taskAttemptResolvers: TaskAttemptResolvers = {
  instance: (a) => ({ id: a.instanceId }),
  agent: (a) => (a.agentId ? { id: a.agentId } : null),
};

export const workflowResolvers: WorkflowResolvers = {
  __resolveReference: (reference, ctx) =>
    readOwned(ctx.caller, 'workflow', () => ctx.loaders.workflowById.load(reference.id)),
  id: (w) => w._id,
};

export const workflowNodeResolvers: WorkflowNodeResolvers = {
  task: (n, _args, ctx) => (n.taskId ? ctx.loaders.taskById.load(n.taskId) : null),
};

export const sagaResolvers: SagaResolvers = {
  __resolveReference: (reference, ctx) =>
    readOwned(ctx.caller, 'saga', () => ctx.loaders.sagaById.load(reference.id)),
  id: (s) => s._id,
  state: (s) => s.snapshot.state,
  log: (s) => s.snapshot.log.map((e) => ({ ...e, at: new Date(e.at) })),
  steps: (s, _args, ctx) =>
    Promise.all(
      s.steps.map(async (step, i) => ({
        name: step.name,
        state: s.snapshot.steps[i]!.state,
        action: await ctx.loaders.taskById.load(sagaTaskId(s._id, i, 'ACTION')),
        compensation: step.compensation
          ? await ctx.loaders.taskById.load(sagaTaskId(s._id, i, 'COMPENSATION'))
          : null,
      })),
    ),
};
