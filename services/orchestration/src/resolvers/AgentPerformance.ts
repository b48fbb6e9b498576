import { FIGURES_WINDOW, figuresWindow, requireRole, STAFF_ROLES } from '@waooaw/shared';
import type { AgentPerformanceResolvers } from '../__generated__/resolvers-types';
import { attemptPerformance } from '../domain';
import type { TaskModel } from '../models/task';
import { agentAttempts } from '../performance';

/** Orchestration's part of an agent's performance: the attempts it finished in the window. */
export function agentPerformanceResolvers(tasks: TaskModel): AgentPerformanceResolvers {
  return {
    __resolveReference: async (reference, ctx) => {
      requireRole(ctx.caller, ...STAFF_ROLES);
      // The same bounds as the marketplace's root field: a representation is another way in.
      const window = figuresWindow(reference, new Date(), FIGURES_WINDOW);
      const attempts = await agentAttempts(tasks, reference.agentId, window);
      return { agentId: reference.agentId, ...window, ...attemptPerformance(attempts) };
    },
  };
}
