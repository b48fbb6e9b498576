import { z } from 'zod';
import { defineEvent } from '../kafka/events';

/**
 * How one attempt of a task on an instance ended. REJECTED (the input did not fit the skill) says
 * nothing about the instance's health, so breakers and health ignore it.
 */
export const ATTEMPT_OUTCOMES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const orchestrationEvents = {
  /** Orchestration's verdict on one attempt: discovery feeds it to the instance's breaker and health. */
  attemptFinished: defineEvent(
    'orchestration.attempt.finished',
    z.object({
      taskId: z.string(),
      attempt: z.number().int().positive(),
      instanceId: z.string(),
      agentId: z.string().nullable(),
      capability: z.string(),
      outcome: z.enum(ATTEMPT_OUTCOMES),
      durationMs: z.number().min(0),
      error: z.string().optional(),
      at: z.string(),
    }),
  ),
};
