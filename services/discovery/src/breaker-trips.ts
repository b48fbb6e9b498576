import type { EventData, FiguresWindow, HandlerBinding } from '@waooaw/shared';
import { discoveryEvents, on } from '@waooaw/shared';
import type { AgentReplicaModel, AgentReplicaRecord } from './models/agent-replica';
import type { BreakerTripModel } from './models/breaker-trip';

/** How long trips are kept: longer than the longest figures window (366 days). */
export const BREAKER_TRIP_RETENTION_MS = 400 * 86_400_000;

/**
 * The breaker trips of agents, for AgentPerformance.breakerTrips: projected from discovery's own
 * discovery.circuit.changed events, which the outbox publishes exactly when a transition is written
 * (recording them beside the instance write would add a second write, not atomic with it, to the
 * outcome path every task goes through).
 */
export function createBreakerTrips(deps: { trips: BreakerTripModel; agents: AgentReplicaModel }) {
  const { trips, agents } = deps;

  async function record(data: EventData<typeof discoveryEvents.circuitChanged>, eventId: string) {
    if (data.to !== 'OPEN') return;
    const agentId =
      data.agentId ??
      (await agents.findOne({ handle: data.handle }, { _id: 1 }).lean<Pick<AgentReplicaRecord, '_id'>>())
        ?._id ??
      null;
    await trips.updateOne(
      { _id: eventId },
      {
        $setOnInsert: {
          instanceId: data.instanceId,
          agentId,
          handle: data.handle,
          from: data.from,
          reason: data.reason,
          at: new Date(data.at),
        },
      },
      { upsert: true },
    );
  }

  return {
    handlers: (): HandlerBinding[] => [
      on(discoveryEvents.circuitChanged, (data, envelope) => record(data, envelope.id)),
    ],

    /**
     * Trips of the agent's instances in the window; trips recorded before discovery knew the agent's
     * id count through its handle.
     */
    async count(agentId: string, window: FiguresWindow): Promise<number> {
      const at = { $gte: window.since, $lt: window.until };
      const agent = await agents.findById(agentId, { handle: 1 }).lean<Pick<AgentReplicaRecord, 'handle'>>();
      return trips.countDocuments(
        agent
          ? {
              $or: [
                { agentId, at },
                { agentId: null, handle: agent.handle, at },
              ],
            }
          : { agentId, at },
      );
    },

    /** Forgets trips older than the retention (run by the sweeper). */
    async forgetOld(now: number): Promise<void> {
      await trips.deleteMany({ at: { $lt: new Date(now - BREAKER_TRIP_RETENTION_MS) } });
    },
  };
}
export type BreakerTrips = ReturnType<typeof createBreakerTrips>;
