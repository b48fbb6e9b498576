import { z } from 'zod';
import { defineEvent } from '../kafka/events';

export const BUILD_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;

export const factoryEvents = {
  /** A build was created or finished; `requestId` echoes the command that asked for it, if any. */
  buildUpdated: defineEvent(
    'factory.build.updated',
    z.object({
      buildId: z.string(),
      handle: z.string(),
      version: z.string(),
      status: z.enum(BUILD_STATUSES),
      agentId: z.string().optional(),
      error: z.string().optional(),
      requestId: z.string().optional(),
    }),
  ),
  /** A definition sent as a command was invalid: nothing was stored. */
  definitionRejected: defineEvent(
    'factory.definition.rejected',
    z.object({
      requestId: z.string(),
      problems: z.array(
        z.object({ path: z.string(), line: z.number(), column: z.number(), message: z.string() }),
      ),
      reason: z.string(),
    }),
  ),
};

export const factoryCommands = {
  /** "Agent creates agent": submit a YAML definition, as submitAgentDefinition does. */
  submitDefinition: defineEvent(
    'factory.definition.submit',
    z.object({
      requestId: z.string().min(1),
      actor: z.string().min(1),
      yaml: z.string().min(1),
      activate: z.boolean().default(false),
    }),
    { topic: 'factory.commands' },
  ),
};
