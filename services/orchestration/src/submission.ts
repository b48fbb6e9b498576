import { createHash, randomUUID } from 'node:crypto';
import semver from 'semver';
import { z } from 'zod';
import { GraphQLError } from 'graphql';
import type { Caller, EventData, LoadBalancingStrategy, orchestrationCommands } from '@waooaw/shared';
import {
  activeTraceparent,
  assertBytesWithin,
  badUserInput,
  handleString,
  InputLimits,
  inputBytes,
  LOAD_BALANCING_STRATEGIES,
  parseInput,
} from '@waooaw/shared';
import { TASK_PRIORITIES } from './domain';
import type { RetryPolicyRecord, SagaLink, TaskRecord } from './models/task';
import type { InstanceReplica } from './replica';

export interface SubmissionDefaults {
  timeoutMs: number;
  strategy: LoadBalancingStrategy;
  retry: RetryPolicyRecord;
}

const retryInput = z
  .object({
    maxAttempts: z.number().int().min(1).max(10).nullish(),
    initialDelayMs: z.number().int().min(0).max(600_000).nullish(),
    maxDelayMs: z.number().int().min(0).max(3_600_000).nullish(),
    multiplier: z.number().min(1).max(10).nullish(),
    jitter: z.enum(['NONE', 'FULL', 'EQUAL', 'DECORRELATED']).nullish(),
  })
  .nullish();

/** What every task needs, from submitTask, a workflow node or a saga step. */
export const taskSpecSchema = z.object({
  capability: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/,
      'must be a dotted capability name such as seo.audit-page',
    ),
  versionRange: z
    .string()
    .trim()
    .refine((r) => semver.validRange(r) !== null, 'not a semver range (e.g. ^1.2 or >=2 <3)')
    .nullish(),
  agentHandle: handleString.nullish(),
  input: z.unknown().refine((v) => v !== undefined, 'input is required (any JSON)'),
  priority: z.enum(TASK_PRIORITIES).nullish(),
  timeoutMs: z.number().int().min(100, 'at least 100 ms').max(600_000, 'at most 10 minutes').nullish(),
  deadline: z.coerce.date().nullish(),
  retryPolicy: retryInput,
  idempotencyKey: z.string().min(1).max(200).nullish(),
  strategy: z.enum(LOAD_BALANCING_STRATEGIES).nullish(),
});
export type TaskSpec = z.input<typeof taskSpecSchema>;

/**
 * The size limits of what a client submits: each task's input (InputLimits.taskInputBytes), and
 * for a workflow or saga all of them together (workflowInputBytes: its one MongoDB document holds
 * every one, and a document holds at most 16 MB). Checked where a client submits, not when a workflow builds a node's task from
 * its parents' outputs: those are the platform's own, and the outbox sets aside what Kafka cannot carry.
 */
export function assertTaskInputs(inputs: { field: string; input: unknown }[], totalField?: string): void {
  let total = 0;
  for (const { field, input } of inputs) {
    const bytes = inputBytes(input);
    assertBytesWithin(field, bytes, InputLimits.taskInputBytes);
    total += bytes;
  }
  if (totalField) assertBytesWithin(totalField, total, InputLimits.workflowInputBytes);
}

/** A task id derived from the submitter and their idempotency key: submitting twice finds the first task. */
export const idempotentTaskId = (owner: string, key: string) =>
  `task-${createHash('sha256').update(`${owner}\u0000${key}`).digest('hex').slice(0, 32)}`;

/**
 * Validates a task and builds its first state: SUBMITTED, or REJECTED at once when no registered
 * agent offers the capability in the range (a task nobody can run is never queued forever).
 */
export function buildTask(
  spec: unknown,
  who: Caller,
  deps: { replica: InstanceReplica; defaults: SubmissionDefaults; now: number },
  link: {
    id?: string;
    workflowId?: string;
    workflowNodeId?: string;
    saga?: SagaLink;
    customerId?: string | null;
    /** The trace the task continues; default the active span's (a request's, an event's). */
    traceparent?: string;
  } = {},
  field = 'input',
): TaskRecord {
  const parsed = parseInput(taskSpecSchema, spec, field);
  const { defaults, now } = deps;
  if (parsed.deadline && parsed.deadline.getTime() <= now)
    throw badUserInput('deadline is in the past; give a time in the future', { field: `${field}.deadline` });
  const retry = parsed.retryPolicy;
  const retryPolicy: RetryPolicyRecord = {
    maxAttempts: retry?.maxAttempts ?? defaults.retry.maxAttempts,
    initialDelayMs: retry?.initialDelayMs ?? defaults.retry.initialDelayMs,
    maxDelayMs: retry?.maxDelayMs ?? defaults.retry.maxDelayMs,
    multiplier: retry?.multiplier ?? defaults.retry.multiplier,
    jitter: retry?.jitter ?? defaults.retry.jitter,
  };
  if (retryPolicy.maxDelayMs < retryPolicy.initialDelayMs)
    throw badUserInput('retryPolicy.maxDelayMs must be at least initialDelayMs', {
      field: `${field}.retryPolicy`,
    });
  const versionRange = parsed.versionRange || null;
  const customerId =
    link.customerId !== undefined ? link.customerId : who.roles.includes('customer') ? who.sub : null;
  const id =
    link.id ??
    (parsed.idempotencyKey ? idempotentTaskId(who.sub, parsed.idempotencyKey) : `task-${randomUUID()}`);
  const agentHandle = parsed.agentHandle ?? null;
  const offered = deps.replica.offering(parsed.capability, versionRange, agentHandle).length > 0;
  const at = new Date(now);
  return {
    _id: id,
    capability: parsed.capability,
    versionRange,
    agentHandle,
    input: parsed.input ?? {},
    priority: parsed.priority ?? 'NORMAL',
    status: offered ? 'SUBMITTED' : 'REJECTED',
    strategy: parsed.strategy ?? defaults.strategy,
    attempts: [],
    agentId: null,
    output: null,
    error: offered
      ? null
      : `No registered ${agentHandle ? `instance of ${agentHandle}` : 'agent'} offers ${parsed.capability}${versionRange ? ` in range ${versionRange}` : ''}; check the ${agentHandle ? 'agent handle, ' : ''}capability name and version range`,
    timeoutMs: parsed.timeoutMs ?? defaults.timeoutMs,
    deadline: parsed.deadline ?? null,
    retryPolicy,
    idempotencyKey: parsed.idempotencyKey ?? null,
    customerId,
    submittedBy: who.sub,
    workflowId: link.workflowId ?? null,
    workflowNodeId: link.workflowNodeId ?? null,
    saga: link.saga ?? null,
    nextAttemptAt: at,
    lastDelayMs: 0,
    avoidInstanceIds: [],
    rev: 0,
    appliedEventIds: [],
    outbox: [],
    outboxLockedUntil: null,
    createdAt: at,
    updatedAt: at,
    completedAt: offered ? null : at,
    traceparent: link.traceparent ?? activeTraceparent() ?? null,
  };
}

/**
 * The task a Kafka submit command asks for, under the client's own id. A spec that does not
 * validate still makes a task, REJECTED with the reason, so the client hears why on
 * orchestration.task.updated instead of waiting for a task that never appears.
 */
export function taskFromCommand(
  command: EventData<typeof orchestrationCommands.submitTask>,
  deps: { replica: InstanceReplica; defaults: SubmissionDefaults; now: number },
): TaskRecord {
  const who: Caller = { sub: command.actor, roles: ['operator'] };
  const link = { id: command.taskId, customerId: command.customerId };
  try {
    return buildTask(command.spec, who, deps, link, 'spec');
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    const capability = typeof command.spec.capability === 'string' ? command.spec.capability : 'unknown';
    const base = buildTask({ capability: 'invalid.spec', input: command.spec.input ?? {} }, who, deps, link);
    return {
      ...base,
      capability: capability.slice(0, 200),
      status: 'REJECTED',
      error: `The task was not valid: ${err.message}`,
      completedAt: base.createdAt,
    };
  }
}
