import { assertMaxBytes, assertMaxLength, InputLimits, requireRole } from '@waooaw/shared';
import type { MutationResolvers } from '../__generated__/resolvers-types';

/** Every mutation needs an operator or admin; the caller becomes the actor of the audit trail. */
export const mutationResolvers: MutationResolvers = {
  registerAgent: (_parent, { input }, ctx) => {
    const caller = requireRole(ctx.caller, 'operator', 'admin');
    assertMaxBytes('input.metadata', input.metadata, InputLimits.metadataBytes);
    assertMaxBytes('input', input, InputLimits.agentRegistrationBytes);
    return ctx.registry.register(input, { actor: caller.sub, traceparent: ctx.traceparent });
  },
  transitionAgentLifecycle: (_parent, { id, to, reason }, ctx) => {
    const caller = requireRole(ctx.caller, 'operator', 'admin');
    assertMaxLength('reason', reason, InputLimits.reasonChars);
    return ctx.registry.transition(id, to, reason, { actor: caller.sub, traceparent: ctx.traceparent });
  },
  setAgentCapabilities: (_parent, { id, capabilities }, ctx) => {
    const caller = requireRole(ctx.caller, 'operator', 'admin');
    assertMaxBytes('capabilities', capabilities, InputLimits.agentRegistrationBytes);
    return ctx.registry.setCapabilities(id, capabilities, {
      actor: caller.sub,
      traceparent: ctx.traceparent,
    });
  },
};
