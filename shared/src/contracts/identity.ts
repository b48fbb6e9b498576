import { z } from 'zod';
import { defineEvent } from '../kafka/events';
import { handleString, mimeType, semverString } from './common';

/** The closed sets of the identity domain (mirrored by enums in schemas/identity.graphql). */
export const AGENT_KINDS = ['PLATFORM', 'CUSTOMER'] as const;
export const AGENT_CATEGORIES = ['PLATFORM', 'MARKETING', 'EDUCATION', 'SALES'] as const;
export const AGENT_TIERS = ['PREMIUM', 'STANDARD', 'BUDGET'] as const;
export const LIFECYCLE_STATUSES = ['DRAFT', 'PROVISIONED', 'ACTIVE', 'SUSPENDED', 'RETIRED'] as const;
export type LifecycleStatus = (typeof LIFECYCLE_STATUSES)[number];

/** A structured skill (A2A AgentSkill style). */
export const capabilitySchema = z.object({
  name: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/,
      'must be a dotted lower-case name such as content.write-article',
    ),
  version: semverString,
  description: z.string().min(5).max(500),
  tags: z.array(z.string()).default([]),
  inputModes: z.array(mimeType).min(1).default(['application/json']),
  outputModes: z.array(mimeType).min(1).default(['application/json']),
  examples: z.array(z.string()).default([]),
});
export type Capability = z.output<typeof capabilitySchema>;

/** Everything needed to register an agent (a GraphQL input or a factory command). */
export const agentRegistrationSchema = z.object({
  handle: handleString,
  name: z.string().min(2).max(80),
  description: z.string().min(10).max(2000),
  version: semverString,
  kind: z.enum(AGENT_KINDS),
  category: z.enum(AGENT_CATEGORIES),
  specialization: z.string().min(2).max(200),
  industries: z.array(z.string()).default([]),
  tier: z.enum(AGENT_TIERS),
  tags: z.array(z.string()).default([]),
  metadata: z.record(z.string(), z.unknown()).default({}),
  capabilities: z.array(capabilitySchema).min(1, 'an agent needs at least one capability'),
});
export type AgentRegistration = z.output<typeof agentRegistrationSchema>;

const capabilityRef = z.object({ name: z.string(), version: semverString });

export const identityEvents = {
  agentRegistered: defineEvent(
    'identity.agent.registered',
    z.object({
      agentId: z.string(),
      handle: z.string(),
      name: z.string(),
      description: z.string().default(''),
      version: semverString,
      kind: z.enum(AGENT_KINDS),
      category: z.enum(AGENT_CATEGORIES),
      tier: z.enum(AGENT_TIERS),
      specialization: z.string(),
      industries: z.array(z.string()),
      tags: z.array(z.string()),
      /** The definition's extras: persona, pricing, template, runtime (the marketplace lists them). */
      metadata: z.record(z.string(), z.unknown()).default({}),
      status: z.enum(LIFECYCLE_STATUSES),
      capabilities: z.array(capabilityRef),
      /** CREATED: a new agent; NEW_VERSION: a higher version of a known one; UNCHANGED: already registered. */
      outcome: z.enum(['CREATED', 'NEW_VERSION', 'UNCHANGED']),
      /** Correlates with the command that asked for it (the factory's build id). */
      requestId: z.string().optional(),
    }),
  ),
  agentLifecycleChanged: defineEvent(
    'identity.agent.lifecycle-changed',
    z.object({
      agentId: z.string(),
      handle: z.string(),
      kind: z.enum(AGENT_KINDS),
      category: z.enum(AGENT_CATEGORIES),
      from: z.enum(LIFECYCLE_STATUSES),
      to: z.enum(LIFECYCLE_STATUSES),
      actor: z.string(),
      reason: z.string(),
      at: z.string(),
    }),
  ),
  agentCapabilitiesChanged: defineEvent(
    'identity.agent.capabilities-changed',
    z.object({
      agentId: z.string(),
      handle: z.string(),
      version: semverString,
      capabilities: z.array(capabilitySchema),
      actor: z.string(),
    }),
  ),
  agentRegistrationRejected: defineEvent(
    'identity.agent.registration-rejected',
    z.object({
      requestId: z.string(),
      handle: z.string(),
      version: z.string(),
      code: z.string(),
      reason: z.string(),
    }),
  ),
};

export const identityCommands = {
  /** Register (or re-register, idempotently) an agent, optionally walking it to ACTIVE. */
  registerAgent: defineEvent(
    'identity.agent.register',
    z.object({
      requestId: z.string().min(1),
      actor: z.string().min(1),
      activate: z.boolean().default(false),
      agent: z.unknown(),
    }),
    { topic: 'identity.commands' },
  ),
};
