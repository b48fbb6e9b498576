import { z } from 'zod';
import { defineEvent } from '../kafka/events';
import { CIRCUIT_STATES, HEALTH_STATES } from '../discovery/types';
import { handleString, semverString } from './common';
import { AGENT_TIERS } from './identity';

/** Topic of the runtime -> discovery traffic: registrations, heartbeats, deregistrations. */
export const HEARTBEATS_TOPIC = 'discovery.heartbeats';

/** Where a runtime receives the tasks for its instances (orchestration publishes there). */
export const runtimeInbox = (runtimeId: string) => `agents.inbox.${runtimeId}`;

/** An instance's load as its runtime measures it over a recent window. */
export const instanceLoadSchema = z.object({
  /** Tasks running now. */
  inFlight: z.number().int().min(0),
  /** Average handler latency of the recent window, in ms (0 without calls). */
  latencyMs: z.number().min(0),
  /** Failed / finished in the recent window (0..1). */
  errorRate: z.number().min(0).max(1),
  /** Totals since the instance started. */
  completed: z.number().int().min(0),
  failed: z.number().int().min(0),
});
export type InstanceLoad = z.output<typeof instanceLoadSchema>;

/** Breaker settings an instance asks for: AGGRESSIVE trips fast (user-facing), CONSERVATIVE tolerates more (batch). */
export const BREAKER_PRESET_NAMES = ['AGGRESSIVE', 'CONSERVATIVE'] as const;
export type BreakerPresetName = (typeof BREAKER_PRESET_NAMES)[number];

const capabilityRef = z.object({ name: z.string().min(1), version: semverString });

/** Everything discovery needs to know to route to an instance the runtime hosts. */
export const instanceRegistrationSchema = z.object({
  instanceId: z.string().min(1).max(200),
  handle: handleString,
  agentVersion: semverString,
  runtimeId: z.string().min(1).max(100),
  tier: z.enum(AGENT_TIERS),
  weight: z.number().positive().finite(),
  ttlSeconds: z.number().positive().max(3600),
  concurrency: z.number().int().positive().max(1000),
  capabilities: z.array(capabilityRef).min(1),
  breakerPreset: z.enum(BREAKER_PRESET_NAMES).default('AGGRESSIVE'),
});
export type InstanceRegistration = z.output<typeof instanceRegistrationSchema>;

export const discoveryMessages = {
  /** A runtime starts hosting an instance. */
  instanceRegister: defineEvent(
    'discovery.instance.register',
    instanceRegistrationSchema.extend({ load: instanceLoadSchema }),
    { topic: HEARTBEATS_TOPIC },
  ),
  /**
   * The instance is alive, with its load. It carries the registration too, so an instance that
   * discovery forgot (removed after a long silence, or a wiped database) comes back by itself.
   */
  instanceHeartbeat: defineEvent(
    'discovery.instance.heartbeat',
    instanceRegistrationSchema.extend({
      load: instanceLoadSchema,
      /** The runtime's own verdict: false while the instance cannot work (e.g. draining). */
      ready: z.boolean().default(true),
      sentAt: z.string(),
    }),
    { topic: HEARTBEATS_TOPIC },
  ),
  /** A runtime stops hosting an instance (clean shutdown). */
  instanceDeregister: defineEvent(
    'discovery.instance.deregister',
    z.object({ instanceId: z.string().min(1), runtimeId: z.string().min(1), reason: z.string() }),
    { topic: HEARTBEATS_TOPIC },
  ),
};

export const INSTANCE_CHANGES = ['REGISTERED', 'UPDATED', 'DEREGISTERED', 'REMOVED'] as const;

/** The routing-relevant view of an instance that replicas (orchestration) keep. */
export const instanceViewSchema = z.object({
  instanceId: z.string(),
  agentId: z.string().nullable(),
  handle: z.string(),
  agentVersion: z.string(),
  runtimeId: z.string().nullable(),
  inbox: z.string().nullable(),
  tier: z.enum(AGENT_TIERS),
  weight: z.number(),
  concurrency: z.number().int(),
  capabilities: z.array(capabilityRef),
  health: z.enum(HEALTH_STATES),
  circuit: z.enum(CIRCUIT_STATES),
  inFlight: z.number().int(),
});
export type InstanceView = z.output<typeof instanceViewSchema>;

export const discoveryEvents = {
  /** An instance joined, changed in a way routing cares about, left, or was forgotten. */
  instanceChanged: defineEvent(
    'discovery.instance.changed',
    z.object({ change: z.enum(INSTANCE_CHANGES), instance: instanceViewSchema, at: z.string() }),
  ),
  /** An instance's health moved from one of the four states to another. */
  healthChanged: defineEvent(
    'discovery.health.changed',
    z.object({
      instanceId: z.string(),
      agentId: z.string().nullable(),
      handle: z.string(),
      from: z.enum(HEALTH_STATES),
      to: z.enum(HEALTH_STATES),
      /** The agent's health over all its instances after this change. */
      agentHealth: z.enum(HEALTH_STATES),
      reason: z.string(),
      at: z.string(),
    }),
  ),
  /** An instance's circuit breaker changed state. */
  circuitChanged: defineEvent(
    'discovery.circuit.changed',
    z.object({
      instanceId: z.string(),
      agentId: z.string().nullable(),
      handle: z.string(),
      from: z.enum(CIRCUIT_STATES),
      to: z.enum(CIRCUIT_STATES),
      reason: z.string(),
      at: z.string(),
    }),
  ),
};
