import type { Component, EventBus, InstanceRegistration, Logger } from '@waooaw/shared';
import { discoveryMessages, HEARTBEATS_TOPIC, runtimeInbox } from '@waooaw/shared';
import type { InstanceSpec } from './fleet';
import type { LoadTracker } from './load';
import { createLoadTracker } from './load';

export interface AgentRuntimeOptions {
  bus: EventBus;
  logger: Logger;
  runtimeId: string;
  fleet: InstanceSpec[];
  /** How often every instance reports that it is alive, with its load. */
  heartbeatIntervalMs: number;
  /** Silence discovery tolerates before an instance turns UNKNOWN (a few missed heartbeats). */
  ttlSeconds: number;
}

/** One instance the runtime hosts: what it is and how loaded it is. */
export interface HostedInstance {
  spec: InstanceSpec;
  load: LoadTracker;
}

/**
 * The agents runtime: hosts agent instances, registers them with discovery and heartbeats for them
 * over Kafka (`discovery.heartbeats`), and deregisters them when it stops cleanly. A runtime that
 * dies without stopping is noticed by discovery through the missing heartbeats.
 */
export function createAgentRuntime(options: AgentRuntimeOptions) {
  const { bus, logger, runtimeId } = options;
  const hosted: HostedInstance[] = options.fleet.map((spec) => ({ spec, load: createLoadTracker() }));
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;
  let started = false;
  let stopping = false;

  const registration = ({ spec }: HostedInstance): InstanceRegistration => ({
    instanceId: spec.instanceId,
    handle: spec.manifest.handle,
    agentVersion: spec.manifest.version,
    runtimeId,
    tier: spec.tier,
    weight: spec.weight,
    ttlSeconds: options.ttlSeconds,
    concurrency: spec.concurrency,
    breakerPreset: spec.breakerPreset,
    capabilities: spec.manifest.capabilities.map((c) => ({ name: c.name, version: c.version })),
  });

  /** One produce request for all instances: a 120-instance fleet stays one message batch per beat. */
  const heartbeat = async () => {
    const sentAt = new Date().toISOString();
    await bus.publishAll(
      discoveryMessages.instanceHeartbeat,
      hosted.map((h) => ({
        data: { ...registration(h), load: h.load.snapshot(), ready: !stopping, sentAt },
        options: { subject: h.spec.instanceId },
      })),
    );
  };

  const tick = () => {
    beating ??= heartbeat()
      .catch((err: unknown) => logger.warn({ err }, 'heartbeat failed; discovery sees it at the next one'))
      .finally(() => {
        beating = undefined;
      });
  };

  const runtime = {
    runtimeId,
    inbox: runtimeInbox(runtimeId),
    instances: hosted,
    async start() {
      await bus.ensureTopics([HEARTBEATS_TOPIC, runtimeInbox(runtimeId)]);
      await bus.publishAll(
        discoveryMessages.instanceRegister,
        hosted.map((h) => ({
          data: { ...registration(h), load: h.load.snapshot() },
          options: { subject: h.spec.instanceId },
        })),
      );
      timer = setInterval(tick, options.heartbeatIntervalMs);
      started = true;
      logger.info({ runtimeId, instances: hosted.length }, 'agent instances registered');
    },
    /** Deregisters every instance, so routing stops at once rather than after the TTL. */
    async stop() {
      stopping = true;
      clearInterval(timer);
      await beating;
      if (!started) return;
      await bus.publishAll(
        discoveryMessages.instanceDeregister,
        hosted.map((h) => ({
          data: { instanceId: h.spec.instanceId, runtimeId, reason: 'runtime stopping' },
          options: { subject: h.spec.instanceId },
        })),
      );
      started = false;
      logger.info({ runtimeId, instances: hosted.length }, 'agent instances deregistered');
    },
    component(): Component {
      return {
        name: 'agent-runtime',
        stage: 'work',
        start: () => runtime.start(),
        stop: () => runtime.stop(),
        ready: () => started,
      };
    },
  };
  return runtime;
}

export type AgentRuntime = ReturnType<typeof createAgentRuntime>;
