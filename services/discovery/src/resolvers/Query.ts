import type { FilterQuery } from 'mongoose';
import { decodeCursor, pageSize, toConnection } from '@waooaw/shared';
import type { QueryResolvers } from '../__generated__/resolvers-types';
import type { InstanceModel, InstanceRecord } from '../models/instance';

export function queryResolvers(instances: InstanceModel): QueryResolvers {
  return {
    serviceInstance: (_parent, { id }, ctx) => ctx.loaders.instanceById.load(id),

    serviceInstances: async (_parent, { filter, first, after }) => {
      const limit = pageSize(first);
      const query: FilterQuery<InstanceRecord> = { status: filter?.status ?? 'ACTIVE' };
      if (filter?.agentId) query.agentId = filter.agentId;
      if (filter?.handle) query.handle = filter.handle;
      if (filter?.runtimeId) query.runtimeId = filter.runtimeId;
      if (filter?.capability) query['capabilities.name'] = filter.capability;
      if (filter?.health) query['health.state'] = filter.health;
      if (filter?.circuit) query['breaker.state'] = filter.circuit;
      if (filter?.tier) query.tier = filter.tier;
      const page = after ? { ...query, _id: { $gt: decodeCursor(after) } } : query;
      const [rows, totalCount] = await Promise.all([
        instances
          .find(page)
          .sort({ _id: 1 })
          .limit(limit + 1)
          .lean<InstanceRecord[]>(),
        instances.countDocuments(query),
      ]);
      return toConnection(rows, limit, totalCount, (i) => i._id);
    },

    selectAgent: (_parent, { capability, versionRange, strategy }, ctx) =>
      ctx.select(capability, versionRange, strategy),
  };
}
