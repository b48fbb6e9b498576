import type DataLoader from 'dataloader';
import type { Logger, RequestContext, RequestInfo } from '@waooaw/shared';
import { createByIdLoader, createRequestContext } from '@waooaw/shared';
import type { Factory } from './factory';
import type { DefinitionModel, DefinitionRecord } from './models/definition';

export interface Context extends RequestContext {
  factory: Factory;
  loaders: {
    definitionById: DataLoader<string, DefinitionRecord | null>;
    /** The latest definition registered as each agent. */
    definitionByAgentId: DataLoader<string, DefinitionRecord | null>;
  };
}

export function contextFactory(deps: {
  definitions: DefinitionModel;
  factory: Factory;
  logger: Logger;
  callerSecret: string;
}) {
  const { definitions } = deps;
  return async (req: RequestInfo): Promise<Context> => ({
    ...(await createRequestContext(req, deps.logger, deps.callerSecret, 'factory')),
    factory: deps.factory,
    loaders: {
      definitionById: createByIdLoader(
        (ids) => definitions.find({ _id: { $in: ids } }).lean<DefinitionRecord[]>(),
        (d) => d._id,
      ),
      definitionByAgentId: createByIdLoader(
        async (agentIds) => {
          // Newest first, so the first definition seen for an agent is its latest.
          const rows = await definitions
            .find({ agentId: { $in: agentIds } })
            .sort({ createdAt: -1 })
            .lean<DefinitionRecord[]>();
          const latest = new Map<string, DefinitionRecord>();
          for (const row of rows) if (row.agentId && !latest.has(row.agentId)) latest.set(row.agentId, row);
          return [...latest.values()];
        },
        (d) => d.agentId!,
      ),
    },
  });
}
