import type DataLoader from 'dataloader';
import type { Logger, RequestContext, RequestInfo } from '@waooaw/shared';
import { createByIdLoader, createGroupLoader, createRequestContext } from '@waooaw/shared';
import type { AgentReplicaModel, AgentReplicaRecord } from './models/agent-replica';
import type { InstanceModel, InstanceRecord } from './models/instance';
import type { InstanceRegistry } from './registry';
import type { Selector } from './selection';

export interface Context extends RequestContext {
  registry: InstanceRegistry;
  select: Selector;
  /** What discovery knows of an agent (from identity's events). */
  agentReplica(id: string): Promise<AgentReplicaRecord | null>;
  loaders: {
    instanceById: DataLoader<string, InstanceRecord | null>;
    /** An agent's ACTIVE instances. */
    activeInstancesByAgent: DataLoader<string, InstanceRecord[]>;
    /** An agent's instances still on record (active and deregistered). */
    allInstancesByAgent: DataLoader<string, InstanceRecord[]>;
  };
}

/** One context per request: verified caller, trace, and fresh DataLoaders (one batch query per list). */
export function contextFactory(deps: {
  instances: InstanceModel;
  agents: AgentReplicaModel;
  registry: InstanceRegistry;
  select: Selector;
  logger: Logger;
  callerSecret: string;
}) {
  const { instances } = deps;
  const byAgent = (statuses: string[]) =>
    createGroupLoader(
      (agentIds) =>
        instances
          .find({ agentId: { $in: agentIds }, status: { $in: statuses } })
          .sort({ _id: 1 })
          .lean<InstanceRecord[]>(),
      (i) => i.agentId ?? '',
    );
  return async (req: RequestInfo): Promise<Context> => ({
    ...(await createRequestContext(req, deps.logger, deps.callerSecret, 'discovery')),
    registry: deps.registry,
    select: deps.select,
    agentReplica: (id) => deps.agents.findById(id).lean<AgentReplicaRecord>().exec(),
    loaders: {
      instanceById: createByIdLoader(
        (ids) => instances.find({ _id: { $in: ids }, status: { $ne: 'REMOVED' } }).lean<InstanceRecord[]>(),
        (i) => i._id,
      ),
      activeInstancesByAgent: byAgent(['ACTIVE']),
      allInstancesByAgent: byAgent(['ACTIVE', 'DEREGISTERED']),
    },
  });
}
