import type DataLoader from 'dataloader';
import type { Logger, RequestContext, RequestInfo } from '@waooaw/shared';
import { createByIdLoader, createRequestContext } from '@waooaw/shared';
import type { AgentModel, AgentRecord } from './models/agent';
import type { AgentRegistry } from './agent-registry';

export interface Context extends RequestContext {
  registry: AgentRegistry;
  a2aBaseUrl: string;
  loaders: { agentById: DataLoader<string, AgentRecord | null> };
}

/** One context per request: verified caller, trace, and fresh DataLoaders (one batch query per entity type). */
export function contextFactory(deps: {
  agents: AgentModel;
  registry: AgentRegistry;
  logger: Logger;
  callerSecret: string;
  a2aBaseUrl: string;
}) {
  return async (req: RequestInfo): Promise<Context> => ({
    ...(await createRequestContext(req, deps.logger, deps.callerSecret, 'identity')),
    registry: deps.registry,
    a2aBaseUrl: deps.a2aBaseUrl,
    loaders: {
      agentById: createByIdLoader(
        (ids) => deps.agents.find({ _id: { $in: ids } }).lean<AgentRecord[]>(),
        (a) => a._id,
      ),
    },
  });
}
