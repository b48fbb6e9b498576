import { assertMaxBytes, InputLimits, requireRole } from '@waooaw/shared';
import type { MutationResolvers } from '../__generated__/resolvers-types';

export const mutationResolvers: MutationResolvers = {
  submitAgentDefinition: (_parent, { yaml, activate }, ctx) => {
    const caller = requireRole(ctx.caller, 'operator', 'admin');
    assertMaxBytes('yaml', yaml, InputLimits.agentYamlBytes);
    return ctx.factory.submit(yaml, {
      actor: caller.sub,
      activate: activate ?? false,
      traceparent: ctx.traceparent,
    });
  },
};
