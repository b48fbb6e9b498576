import semver from 'semver';
import type { Candidate, LoadBalancingStrategy } from '@waooaw/shared';
import { advanceBreaker, badUserInput, createBalancerPool, ErrorCode, PlatformError } from '@waooaw/shared';
import type { AgentReplicaModel } from './models/agent-replica';
import type { InstanceModel, InstanceRecord } from './models/instance';
import { breakerConfig } from './registry';

/** The instance as the load balancer sees it now (a missed TTL or a due breaker count before the sweeper runs). */
export function toCandidate(r: InstanceRecord, now: number): Candidate {
  return {
    id: r._id,
    weight: r.weight,
    health: r.expiresAt.getTime() < now ? 'UNKNOWN' : r.health.state,
    circuit: advanceBreaker(r.breaker, breakerConfig(r), now).snapshot.state,
    inFlight: r.load.inFlight,
    capacity: r.concurrency,
  };
}

/** Why the instances of a pool could not be chosen, for the NO_INSTANCE_AVAILABLE error. */
function skipped(candidates: Candidate[]) {
  const count = (p: (c: Candidate) => boolean) => candidates.filter(p).length;
  return {
    unhealthy: count((c) => c.health === 'UNHEALTHY'),
    unknown: count((c) => c.health === 'UNKNOWN'),
    circuitOpen: count((c) => c.circuit === 'OPEN'),
    atCapacity: count((c) => c.capacity !== undefined && c.inFlight >= c.capacity),
  };
}

/** selectAgent: the registry's instances for a capability, chosen by the shared load-balancing code. */
export function createSelector(deps: {
  instances: InstanceModel;
  agents: AgentReplicaModel;
  defaultStrategy: LoadBalancingStrategy;
  now?: () => number;
}) {
  const clock = deps.now ?? Date.now;
  // One balancer per pool, so round robin and smooth weighting keep their place between queries.
  const balancers = createBalancerPool();

  return async function select(
    capability: string,
    versionRange: string | null | undefined,
    strategy: LoadBalancingStrategy | null | undefined,
  ): Promise<InstanceRecord> {
    const range = versionRange?.trim() || null;
    if (range && semver.validRange(range) === null)
      throw badUserInput(`"${range}" is not a semver range; use e.g. ^1.2 or >=2 <3`, {
        field: 'versionRange',
      });
    const chosenStrategy = strategy ?? deps.defaultStrategy;
    const rows = await deps.instances
      .find({ status: 'ACTIVE', 'capabilities.name': capability })
      .lean<InstanceRecord[]>();
    const offering = rows.filter((r) =>
      r.capabilities.some((c) => c.name === capability && (!range || semver.satisfies(c.version, range))),
    );
    // Instances of an agent identity says is not ACTIVE (suspended, retired) take no work.
    const agentIds = [...new Set(offering.map((r) => r.agentId).filter((id): id is string => id !== null))];
    const inactive = new Set(
      (
        await deps.agents
          .find({ _id: { $in: agentIds }, status: { $nin: ['ACTIVE', null] } }, { _id: 1 })
          .lean<{ _id: string }[]>()
      ).map((a) => a._id),
    );
    const pool = offering.filter((r) => !r.agentId || !inactive.has(r.agentId));
    const wanted = range ? `${capability} ${range}` : capability;
    if (pool.length === 0)
      throw new PlatformError(
        ErrorCode.NO_INSTANCE_AVAILABLE,
        offering.length > 0
          ? `The agents offering ${wanted} are not active (suspended or retired); activate one first`
          : `No registered instance offers ${wanted}; check the capability name and range, or start an agent that has it`,
        { capability, versionRange: range, instances: offering.length },
      );
    const now = clock();
    const candidates = pool.map((r) => toCandidate(r, now));
    const key = `${chosenStrategy}|${capability}|${range ?? '*'}`;
    const picked = balancers.get(key, chosenStrategy).pick(candidates);
    if (!picked) {
      const reasons = skipped(candidates);
      throw new PlatformError(
        ErrorCode.NO_INSTANCE_AVAILABLE,
        `None of the ${pool.length} instances offering ${wanted} can take work now (${Object.entries(reasons)
          .filter(([, n]) => n > 0)
          .map(([why, n]) => `${n} ${why}`)
          .join(', ')}); retry later`,
        { capability, versionRange: range, instances: pool.length, ...reasons },
      );
    }
    return pool.find((r) => r._id === picked.id)!;
  };
}

export type Selector = ReturnType<typeof createSelector>;
