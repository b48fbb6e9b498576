import { z } from 'zod';
import { defineEvent } from '../kafka/events';
import { runtimeInbox } from './discovery';

/**
 * How one attempt of a task on an instance ended. REJECTED (the input did not fit the skill) says
 * nothing about the instance's health, so breakers and health ignore it.
 */
export const ATTEMPT_OUTCOMES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Task states, aligned with A2A's task states. */
export const TASK_STATUSES = [
  'SUBMITTED',
  'WORKING',
  'INPUT_REQUIRED',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'REJECTED',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINAL_TASK_STATUSES: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'CANCELED', 'REJECTED'];

/** The deliverable a skill hands back (agents' SkillResult). */
export const taskOutputSchema = z.object({
  format: z.enum(['text/markdown', 'application/json']),
  title: z.string(),
  content: z.string(),
  summary: z.string(),
});
export type TaskOutput = z.output<typeof taskOutputSchema>;

/** The topic runtimes publish results to (docs/architecture.md). */
export const TASK_RESULTS_TOPIC = 'agents.task.results';

export const taskAssignedSchema = z.object({
  taskId: z.string(),
  attempt: z.number().int().positive(),
  instanceId: z.string(),
  capability: z.string(),
  input: z.unknown(),
  /** The runtime gives up on the attempt after this long (orchestration times it out too). */
  timeoutMs: z.number().int().positive(),
});

/**
 * Orchestration hands an attempt to a runtime on the runtime's own inbox topic
 * (`agents.inbox.<runtimeId>`, key = instance id); the runtime runs it within the instance's concurrency.
 */
export const taskAssignedTo = (runtimeId: string) =>
  defineEvent('agents.task.assigned', taskAssignedSchema, { topic: runtimeInbox(runtimeId) });

export const agentsMessages = {
  /** A runtime's answer for one attempt. */
  taskResult: defineEvent(
    'agents.task.result',
    z.object({
      taskId: z.string(),
      attempt: z.number().int().positive(),
      instanceId: z.string(),
      runtimeId: z.string(),
      outcome: z.enum(['SUCCEEDED', 'FAILED', 'REJECTED']),
      output: taskOutputSchema.optional(),
      error: z.string().optional(),
      durationMs: z.number().min(0),
    }),
    { topic: TASK_RESULTS_TOPIC },
  ),
};

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
  /** A task changed status (or was attempted again). */
  taskUpdated: defineEvent(
    'orchestration.task.updated',
    z.object({
      taskId: z.string(),
      status: z.enum(TASK_STATUSES),
      capability: z.string(),
      priority: z.string(),
      attempts: z.number().int().min(0),
      instanceId: z.string().nullable(),
      agentId: z.string().nullable(),
      /** The handle of the agent of the latest attempt (null before one). */
      agentHandle: z.string().nullable().default(null),
      customerId: z.string().nullable(),
      workflowId: z.string().nullable(),
      sagaId: z.string().nullable(),
      durationMs: z.number().nullable(),
      error: z.string().nullable(),
      /** The deliverable, on COMPLETED (so consumers such as the marketplace need not read it back). */
      output: taskOutputSchema.nullable().default(null),
      at: z.string(),
    }),
  ),
  /** A workflow (DAG) or one of its nodes changed state. */
  workflowUpdated: defineEvent(
    'orchestration.workflow.updated',
    z.object({
      workflowId: z.string(),
      status: z.string(),
      nodeId: z.string().nullable(),
      nodeStatus: z.string().nullable(),
      /** Whose workflow it is (null when staff submitted it): lets the gateway keep it from other customers. */
      customerId: z.string().nullable().default(null),
      at: z.string(),
    }),
  ),
};

/** The orchestration command topic: clients that speak Kafka submit tasks here (the bench, the marketplace). */
export const ORCHESTRATION_COMMANDS_TOPIC = 'orchestration.commands';

export const orchestrationCommands = {
  /**
   * Submit a task under an id the client chooses (submitting the same id again is a no-op, so a
   * redelivered command never makes a second task). `spec` is what SubmitTaskInput takes; a spec
   * that does not validate makes a REJECTED task with the reason, reported on orchestration.task.updated.
   */
  submitTask: defineEvent(
    'orchestration.task.submit',
    z.object({
      taskId: z
        .string()
        .regex(/^[a-zA-Z0-9._:-]{1,200}$/, 'use letters, digits, dot, dash, colon or underscore'),
      /** Who asks (a service or a user id), recorded as the task's submitter. */
      actor: z.string().min(1),
      /** The customer the task works for, if any (they may then read it). */
      customerId: z.string().nullable().default(null),
      spec: z.record(z.string(), z.unknown()),
    }),
    { topic: ORCHESTRATION_COMMANDS_TOPIC },
  ),
};
