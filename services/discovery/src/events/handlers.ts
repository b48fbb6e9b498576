import type { HandlerBinding } from '@waooaw/shared';
import { applyOnce, discoveryMessages, identityEvents, on, orchestrationEvents } from '@waooaw/shared';
import type { AgentReplicaModel, AgentReplicaRecord } from '../models/agent-replica';
import type { InstanceRegistry } from '../registry';

/**
 * A registration or heartbeat older than its TTL says nothing about now (a discovery catching up on
 * the topic's history): applying it would bring back instances that are long gone.
 */
const stale = (envelope: { time: string }, ttlSeconds: number) =>
  Date.now() - Date.parse(envelope.time) > ttlSeconds * 1000;

/** The runtime's traffic on discovery.heartbeats: register, heartbeat, deregister. */
export function heartbeatHandlers(registry: InstanceRegistry): HandlerBinding[] {
  return [
    on(discoveryMessages.instanceRegister, async (data, envelope) => {
      if (stale(envelope, data.ttlSeconds)) return;
      await registry.register(
        { ...data, source: 'RUNTIME', agentId: null, endpoint: null, ready: true },
        envelope.id,
      );
    }),
    on(discoveryMessages.instanceHeartbeat, async (data, envelope) => {
      if (stale(envelope, data.ttlSeconds)) return;
      const { sentAt: _sentAt, ...registration } = data;
      await registry.register(
        { ...registration, source: 'RUNTIME', agentId: null, endpoint: null },
        envelope.id,
      );
    }),
    on(discoveryMessages.instanceDeregister, async (data, envelope) => {
      await registry.deregister(data.instanceId, data.reason, envelope.id);
    }),
  ];
}

/**
 * identity's events kept as the agent replica: ids for handles, lifecycle and capabilities. Events
 * of different topics can arrive out of order, so a status only replaces an older one.
 */
export function identityHandlers(agents: AgentReplicaModel, registry: InstanceRegistry): HandlerBinding[] {
  const setStatus = async (agentId: string, handle: string, status: string, at: Date, eventId: string) => {
    await applyOnce(
      agents,
      { _id: agentId, $or: [{ statusAt: null }, { statusAt: { $lte: at } }] },
      eventId,
      { $set: { handle, status, statusAt: at } },
    );
  };
  /** Creates the replica of an agent on its first event, setting what the event tells. */
  const upsert = (agentId: string, handle: string, set: Partial<AgentReplicaRecord>) =>
    agents.updateOne(
      { _id: agentId },
      {
        $set: { handle, ...set },
        $setOnInsert: {
          status: null,
          statusAt: null,
          ...('version' in set ? {} : { version: null }),
          ...('tier' in set ? {} : { tier: null }),
          ...('capabilities' in set ? {} : { capabilities: [] }),
        },
      },
      { upsert: true },
    );
  return [
    on(identityEvents.agentRegistered, async (data, envelope) => {
      await upsert(data.agentId, data.handle, {
        version: data.version,
        tier: data.tier,
        capabilities: data.capabilities,
      });
      await setStatus(data.agentId, data.handle, data.status, new Date(envelope.time), envelope.id);
      await registry.linkAgent(data.agentId, data.handle);
    }),
    on(identityEvents.agentLifecycleChanged, async (data, envelope) => {
      await upsert(data.agentId, data.handle, {});
      await setStatus(data.agentId, data.handle, data.to, new Date(data.at), envelope.id);
      await registry.linkAgent(data.agentId, data.handle);
    }),
    on(identityEvents.agentCapabilitiesChanged, async (data) => {
      await upsert(data.agentId, data.handle, {
        version: data.version,
        capabilities: data.capabilities.map((c) => ({ name: c.name, version: c.version })),
      });
    }),
  ];
}

/** Orchestration's verdicts on attempts feed the instances' breakers (and through them, health). */
export function outcomeHandlers(registry: InstanceRegistry): HandlerBinding[] {
  return [
    on(orchestrationEvents.attemptFinished, async (data, envelope) => {
      await registry.recordOutcome(data.instanceId, data, envelope.id);
    }),
  ];
}
