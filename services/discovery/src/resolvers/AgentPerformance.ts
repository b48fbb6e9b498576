import { FIGURES_WINDOW, figuresWindow, requireRole, STAFF_ROLES } from '@waooaw/shared';
import type { AgentPerformanceResolvers } from '../__generated__/resolvers-types';
import type { BreakerTrips } from '../breaker-trips';

/** Discovery's part of an agent's performance: how often its breakers opened in the window. */
export function agentPerformanceResolvers(trips: BreakerTrips): AgentPerformanceResolvers {
  return {
    __resolveReference: async (reference, ctx) => {
      requireRole(ctx.caller, ...STAFF_ROLES);
      // The same bounds as the marketplace's root field: a representation is another way in.
      const window = figuresWindow(reference, new Date(), FIGURES_WINDOW);
      return {
        agentId: reference.agentId,
        ...window,
        breakerTrips: await trips.count(reference.agentId, window),
      };
    },
  };
}
