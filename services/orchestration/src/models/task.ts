import type { Connection, Model, mongo } from 'mongoose';
import { Schema } from 'mongoose';
import type {
  AttemptOutcome,
  LoadBalancingStrategy,
  OutboxDocument,
  TaskOutput,
  TaskStatus,
} from '@waooaw/shared';
import { appliedEventsSchemaFields, outboxIndex, outboxSchemaFields, TASK_STATUSES } from '@waooaw/shared';
import type { RetryPolicy, TaskPriority } from '../domain';
import { TASK_PRIORITIES } from '../domain';

/** A task's retry policy as stored (the retry rules that read it are domain/attempt-outcome.ts). */
export type RetryPolicyRecord = RetryPolicy;

export interface AttemptRecord {
  number: number;
  instanceId: string;
  runtimeId: string;
  agentId: string | null;
  /** The handle of the instance's agent (known even before identity links the agent id). */
  handle: string | null;
  startedAt: Date;
  endedAt: Date | null;
  outcome: AttemptOutcome | null;
  durationMs: number | null;
  error: string | null;
}

/** Which saga step and side a task runs for. */
export interface SagaLink {
  sagaId: string;
  step: number;
  role: 'ACTION' | 'COMPENSATION';
}

export interface TaskRecord extends OutboxDocument {
  _id: string;
  capability: string;
  versionRange: string | null;
  /** Only instances of this agent (by handle) run it; null: any agent offering the capability. */
  agentHandle: string | null;
  input: unknown;
  priority: TaskPriority;
  status: TaskStatus;
  strategy: LoadBalancingStrategy;
  attempts: AttemptRecord[];
  /** The agent of the latest attempt (for Agent.recentTasks). */
  agentId: string | null;
  output: TaskOutput | null;
  error: string | null;
  timeoutMs: number;
  deadline: Date | null;
  retryPolicy: RetryPolicyRecord;
  idempotencyKey: string | null;
  customerId: string | null;
  submittedBy: string;
  workflowId: string | null;
  workflowNodeId: string | null;
  saga: SagaLink | null;
  /** Not dispatched before this (backoff between attempts). */
  nextAttemptAt: Date;
  /** The last backoff delay (decorrelated jitter grows from it). */
  lastDelayMs: number;
  /** Instances a retry should avoid when another one can take it. */
  avoidInstanceIds: string[];
  rev: number;
  appliedEventIds: string[];
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  /**
   * The span that submitted the task (W3C traceparent, with tracing on): its dispatches, results and
   * updates, published later from loops with no request around them, continue that trace.
   */
  traceparent?: string | null;
}

const attemptSchema = new Schema<AttemptRecord>(
  {
    number: Number,
    instanceId: String,
    runtimeId: String,
    agentId: { type: String, default: null },
    handle: { type: String, default: null },
    startedAt: Date,
    endedAt: { type: Date, default: null },
    outcome: { type: String, default: null },
    durationMs: { type: Number, default: null },
    error: { type: String, default: null },
  },
  { _id: false },
);

const taskSchema = new Schema<TaskRecord>(
  {
    _id: String,
    capability: { type: String, required: true },
    versionRange: { type: String, default: null },
    agentHandle: { type: String, default: null },
    input: { type: Schema.Types.Mixed, default: {} },
    priority: { type: String, enum: TASK_PRIORITIES, required: true },
    status: { type: String, enum: TASK_STATUSES, required: true },
    strategy: { type: String, required: true },
    attempts: { type: [attemptSchema], default: [] },
    agentId: { type: String, default: null },
    output: { type: Schema.Types.Mixed, default: null },
    error: { type: String, default: null },
    timeoutMs: { type: Number, required: true },
    deadline: { type: Date, default: null },
    retryPolicy: { type: Schema.Types.Mixed, required: true },
    idempotencyKey: { type: String, default: null },
    customerId: { type: String, default: null },
    submittedBy: { type: String, required: true },
    workflowId: { type: String, default: null },
    workflowNodeId: { type: String, default: null },
    saga: { type: Schema.Types.Mixed, default: null },
    nextAttemptAt: { type: Date, required: true },
    lastDelayMs: { type: Number, default: 0 },
    avoidInstanceIds: { type: [String], default: [] },
    rev: { type: Number, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
    traceparent: { type: String, default: null },
    ...outboxSchemaFields,
    ...appliedEventsSchemaFields,
  },
  { collection: 'tasks', minimize: false },
);
taskSchema.index({ status: 1, nextAttemptAt: 1 });
taskSchema.index({ createdAt: -1, _id: -1 });
taskSchema.index({ customerId: 1, createdAt: -1 });
// The per-customer quota counts a customer's queued and running tasks (quota.ts).
taskSchema.index({ customerId: 1, status: 1 });
taskSchema.index({ agentId: 1, createdAt: -1 });
taskSchema.index({ 'attempts.agentId': 1 });
taskSchema.index({ workflowId: 1 });
outboxIndex(taskSchema);

export type TaskModel = Model<TaskRecord>;
export const taskModel = (connection: Connection): TaskModel =>
  connection.model<TaskRecord>('Task', taskSchema);

/**
 * The task collection through the driver, for the engine's hot path: its documents are built whole
 * by buildTask and changed by whole-field $set, so mongoose's casting and document machinery add
 * nothing there but CPU (a large share of a task's cost at hundreds of tasks a second).
 */
export const taskCollection = (model: TaskModel) =>
  model.collection as unknown as mongo.Collection<TaskRecord>;
