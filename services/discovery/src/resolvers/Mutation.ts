import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  assertMaxLength,
  BREAKER_PRESET_NAMES,
  ErrorCode,
  InputLimits,
  PlatformError,
  instanceLoadSchema,
  notFound,
  parseInput,
  requireRole,
  semverString,
} from '@waooaw/shared';
import type { MutationResolvers } from '../__generated__/resolvers-types';
import { EMPTY_LOAD } from '../registry';

const registerInput = z.object({
  agentId: z.string().min(1),
  instanceId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'use letters, digits, dot, dash, colon or underscore')
    .nullish(),
  endpoint: z
    .string()
    .url('must be a URL such as https://agent.example.com/a2a')
    .max(InputLimits.urlChars, `endpoint has at most ${InputLimits.urlChars} characters`)
    .nullish(),
  tier: z.enum(['PREMIUM', 'STANDARD', 'BUDGET']).nullish(),
  weight: z.number().positive('must be above 0 (fractions such as 0.3 are fine)').finite(),
  ttlSeconds: z.number().min(1, 'must be at least 1 second').max(3600),
  concurrency: z.number().int().min(1).max(1000),
  breakerPreset: z.enum(BREAKER_PRESET_NAMES),
  capabilities: z
    .array(z.object({ name: z.string().min(1), version: semverString }))
    .min(1)
    .nullish(),
});

const loadInput = instanceLoadSchema.extend({
  completed: z
    .number()
    .int()
    .min(0)
    .nullish()
    .transform((v) => v ?? 0),
  failed: z
    .number()
    .int()
    .min(0)
    .nullish()
    .transform((v) => v ?? 0),
});

/** Every mutation needs an operator or admin (an external agent's owner acts as an operator). */
export const mutationResolvers: MutationResolvers = {
  registerInstance: async (_parent, { input }, ctx) => {
    requireRole(ctx.caller, 'operator', 'admin');
    const parsed = parseInput(registerInput, input, 'input');
    const agent = await ctx.agentReplica(parsed.agentId);
    if (!agent?.version)
      throw new PlatformError(
        ErrorCode.NOT_FOUND,
        `Discovery does not know agent ${parsed.agentId}: register it with identity first (if you just did, retry in a moment)`,
        { field: 'agentId' },
      );
    return ctx.registry.register({
      instanceId: parsed.instanceId ?? `api:${agent.handle}:${randomUUID()}`,
      handle: agent.handle,
      agentId: agent._id,
      agentVersion: agent.version,
      runtimeId: 'external',
      source: 'API',
      endpoint: parsed.endpoint ?? null,
      tier: parsed.tier ?? agent.tier ?? 'STANDARD',
      weight: parsed.weight,
      ttlSeconds: parsed.ttlSeconds,
      concurrency: parsed.concurrency,
      breakerPreset: parsed.breakerPreset,
      capabilities: parsed.capabilities ?? agent.capabilities,
      load: EMPTY_LOAD,
      ready: true,
    });
  },

  heartbeat: (_parent, { instanceId, load }, ctx) => {
    requireRole(ctx.caller, 'operator', 'admin');
    return ctx.registry.heartbeat(instanceId, parseInput(loadInput, load, 'load'));
  },

  deregisterInstance: async (_parent, { instanceId, reason }, ctx) => {
    const caller = requireRole(ctx.caller, 'operator', 'admin');
    assertMaxLength('reason', reason, InputLimits.reasonChars);
    const result = await ctx.registry.deregister(instanceId, reason?.trim() || `by ${caller.sub}`);
    if (!result || result.status === 'REMOVED') throw notFound('ServiceInstance', instanceId);
    return result;
  },

  resetCircuit: (_parent, { instanceId, reason }, ctx) => {
    const caller = requireRole(ctx.caller, 'operator', 'admin');
    assertMaxLength('reason', reason, InputLimits.reasonChars);
    return ctx.registry.resetCircuit(instanceId, reason, { actor: caller.sub });
  },
};
