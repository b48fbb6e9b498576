import type { FilterQuery } from 'mongoose';
import {
  isStaff,
  olderThanCursor,
  OWNER_OR_STAFF_ROLES,
  pageSize,
  readOwned,
  requireRole,
  timeCursorKey,
  toConnection,
} from '@waooaw/shared';
import type { QueryResolvers } from '../__generated__/resolvers-types';
import type { TaskModel, TaskRecord } from '../models/task';
import type { InstanceReplica } from '../replica';
import { taskStats } from '../stats';

export function queryResolvers(tasks: TaskModel, replica: InstanceReplica): QueryResolvers {
  return {
    task: (_parent, { id }, ctx) => readOwned(ctx.caller, 'task', () => ctx.loaders.taskById.load(id)),

    tasks: async (_parent, { filter, first, after }, ctx) => {
      const who = requireRole(ctx.caller, ...OWNER_OR_STAFF_ROLES);
      const limit = pageSize(first);
      const query: FilterQuery<TaskRecord> = {};
      if (!isStaff(who)) query.customerId = who.sub;
      else if (filter?.customerId) query.customerId = filter.customerId;
      if (filter?.status) query.status = filter.status;
      if (filter?.capability) query.capability = filter.capability;
      if (filter?.priority) query.priority = filter.priority;
      if (filter?.agentId) query.agentId = filter.agentId;
      if (filter?.workflowId) query.workflowId = filter.workflowId;
      const page = after ? { ...query, ...olderThanCursor(after, 'createdAt') } : query;
      const [rows, totalCount] = await Promise.all([
        tasks
          .find(page)
          .sort({ createdAt: -1, _id: -1 })
          .limit(limit + 1)
          .lean<TaskRecord[]>(),
        tasks.countDocuments(query),
      ]);
      return toConnection(rows, limit, totalCount, (t) => timeCursorKey(t.createdAt, t._id));
    },

    taskStats: (_parent, { agentHandle, capability }, ctx) => {
      requireRole(ctx.caller, 'operator', 'admin');
      const agentIds = agentHandle
        ? [
            ...new Set(
              replica
                .byHandle(agentHandle)
                .map((v) => v.agentId)
                .filter((id): id is string => id !== null),
            ),
          ]
        : undefined;
      return taskStats(tasks, { ...(agentIds ? { agentIds } : {}), ...(capability ? { capability } : {}) });
    },

    workflow: (_parent, { id }, ctx) =>
      readOwned(ctx.caller, 'workflow', () => ctx.loaders.workflowById.load(id)),

    saga: (_parent, { id }, ctx) => readOwned(ctx.caller, 'saga', () => ctx.loaders.sagaById.load(id)),
  };
}
