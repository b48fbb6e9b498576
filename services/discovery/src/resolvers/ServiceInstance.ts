import { breakerRates } from '@waooaw/shared';
import type { ServiceInstanceResolvers } from '../__generated__/resolvers-types';
import { breakerConfig } from '../registry';
import { toCandidate } from '../selection';

export const serviceInstanceResolvers: ServiceInstanceResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.instanceById.load(reference.id),
  id: (i) => i._id,
  agent: (i) => (i.agentId ? { id: i.agentId } : null),
  status: (i) => (i.status === 'REMOVED' ? 'DEREGISTERED' : i.status),
  health: (i) => {
    const now = Date.now();
    const state = toCandidate(i, now).health;
    return state === i.health.state
      ? { status: state, since: new Date(i.health.since), reason: i.health.reason }
      : { status: state, since: i.expiresAt, reason: `no heartbeat within the TTL of ${i.ttlSeconds} s` };
  },
  circuit: (i) => {
    const now = Date.now();
    const config = breakerConfig(i);
    const rates = breakerRates(i.breaker, config, now);
    const state = toCandidate(i, now).circuit;
    return {
      state,
      since: new Date(state === i.breaker.state ? i.breaker.since : i.breaker.since + config.openDurationMs),
      preset: i.breakerPreset,
      calls: rates.calls,
      failureRate: rates.failureRate,
      slowCallRate: rates.slowCallRate,
    };
  },
};
