import { pageSize, requireRole } from '@waooaw/shared';
import type { AgentResolvers } from '../__generated__/resolvers-types';
import type { TaskModel, TaskRecord } from '../models/task';

/** Orchestration's view of identity's Agent: only its id. */
export interface AgentRef {
  id: string;
}

export function agentResolvers(tasks: TaskModel): AgentResolvers {
  return {
    __resolveReference: (reference) => ({ id: reference.id }),
    recentTasks: (agent, { first }, ctx) => {
      requireRole(ctx.caller, 'operator', 'admin');
      return tasks
        .find({ agentId: agent.id })
        .sort({ createdAt: -1, _id: -1 })
        .limit(pageSize(first, 10, 50))
        .lean<TaskRecord[]>()
        .exec();
    },
    stats: (agent, _args, ctx) => ctx.loaders.statsByAgent.load(agent.id),
  };
}
