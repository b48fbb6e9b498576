import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type { BusinessContext, OutboxDocument, TaskStatus, TrialStatus } from '@waooaw/shared';
import {
  AGENT_CATEGORIES,
  appliedEventsSchemaFields,
  outboxIndex,
  outboxSchemaFields,
  TASK_STATUSES,
  TRIAL_STATUSES,
} from '@waooaw/shared';
import type { AgentCategory, PlanRecord } from './listing';

export const TRIAL_STEP_NAMES = ['RESERVE_CAPACITY', 'ACTIVATE', 'WELCOME'] as const;
export type TrialStepName = (typeof TRIAL_STEP_NAMES)[number];
export const TRIAL_STEP_STATUSES = ['PENDING', 'COMPLETED', 'FAILED', 'COMPENSATED'] as const;
export type TrialStepStatus = (typeof TRIAL_STEP_STATUSES)[number];

/** One step of the activation saga, as persisted (the log a resumed saga continues from). */
export interface TrialStepRecord {
  name: TrialStepName;
  status: TrialStepStatus;
  at: Date | null;
  error: string | null;
}

/** RUNNING until every step completed (COMPLETED) or the completed ones were undone (COMPENSATED). */
export type ActivationState = 'RUNNING' | 'COMPLETED' | 'COMPENSATED';

/**
 * A conversion to a paid plan, recorded on the trial before any money moves (see conversion.ts): a
 * retry, a concurrent call or the sweep after a crash finishes this one conversion, on this plan,
 * with this payment key, so one trial is charged once whatever fails in between.
 */
export interface TrialConversionRecord {
  plan: PlanRecord;
  /** Passed to the payment provider: the same key never charges twice. */
  idempotencyKey: string;
  /** The subscription's id, fixed before it exists (a retry creates the same one, or finds it). */
  subscriptionId: string;
  /** Set once the charge succeeded. */
  paymentId: string | null;
  requestedBy: string;
  requestedAt: Date;
  /** The caller finishing it owns it until then; the sweep finishes conversions whose owner died. */
  lockedUntil: Date | null;
  /** Every step done (charged, subscribed, announced, trial CONVERTED). */
  completedAt: Date | null;
}

export interface TrialTaskRecord {
  /** orchestration's task id (chosen here: `trial.<trialId>.<suffix>`). */
  id: string;
  capability: string;
  request: string | null;
  status: TaskStatus;
  error: string | null;
  requestedAt: Date;
  completedAt: Date | null;
  deliverableId: string | null;
}

export interface TrialRecord extends OutboxDocument {
  _id: string;
  customerId: string;
  agentId: string;
  handle: string;
  agentName: string;
  category: AgentCategory;
  trialDays: number;
  businessContext: BusinessContext;
  status: TrialStatus;
  /**
   * `<customer>|<agent>` while PROVISIONING or ACTIVE, `ended|<trial id>` after: a unique index on it
   * allows one running trial per customer and agent, race-free (no partial index needed).
   */
  activeKey: string;
  createdAt: Date;
  startedAt: Date | null;
  endsAt: Date | null;
  endedAt: Date | null;
  cancelReason: string | null;
  activation: {
    state: ActivationState;
    /** The customer's concurrent-trial slot is held (released when the trial ends). */
    admitted: boolean;
    steps: TrialStepRecord[];
    /** A runner owns the saga until then; the sweep resumes sagas whose owner died. */
    lockedUntil: Date | null;
  };
  /** Reminders already announced (2d, 1d, 6h before the end). */
  remindersSent: string[];
  /** The conversion to a paid plan, once one was asked for (null before; absent on older trials). */
  conversion?: TrialConversionRecord | null;
  tasks: TrialTaskRecord[];
  appliedEventIds: string[];
  updatedAt: Date;
}

const stepSchema = new Schema<TrialStepRecord>(
  {
    name: { type: String, enum: TRIAL_STEP_NAMES },
    status: { type: String, enum: TRIAL_STEP_STATUSES },
    at: { type: Date, default: null },
    error: { type: String, default: null },
  },
  { _id: false },
);

const taskSchema = new Schema<TrialTaskRecord>(
  {
    id: String,
    capability: String,
    request: { type: String, default: null },
    status: { type: String, enum: TASK_STATUSES },
    error: { type: String, default: null },
    requestedAt: Date,
    completedAt: { type: Date, default: null },
    deliverableId: { type: String, default: null },
  },
  { _id: false },
);

const trialSchema = new Schema<TrialRecord>(
  {
    _id: String,
    customerId: { type: String, required: true },
    agentId: { type: String, required: true },
    handle: { type: String, required: true },
    agentName: { type: String, required: true },
    category: { type: String, enum: AGENT_CATEGORIES, required: true },
    trialDays: { type: Number, required: true },
    businessContext: { type: Schema.Types.Mixed, required: true },
    status: { type: String, enum: TRIAL_STATUSES, required: true },
    activeKey: { type: String, required: true },
    createdAt: { type: Date, required: true },
    startedAt: { type: Date, default: null },
    endsAt: { type: Date, default: null },
    endedAt: { type: Date, default: null },
    cancelReason: { type: String, default: null },
    activation: {
      type: new Schema(
        {
          state: String,
          admitted: Boolean,
          steps: { type: [stepSchema], default: [] },
          lockedUntil: { type: Date, default: null },
        },
        { _id: false },
      ),
      required: true,
    },
    remindersSent: { type: [String], default: [] },
    conversion: {
      type: new Schema(
        {
          plan: { type: Schema.Types.Mixed, required: true },
          idempotencyKey: { type: String, required: true },
          subscriptionId: { type: String, required: true },
          paymentId: { type: String, default: null },
          requestedBy: { type: String, required: true },
          requestedAt: { type: Date, required: true },
          lockedUntil: { type: Date, default: null },
          completedAt: { type: Date, default: null },
        },
        { _id: false },
      ),
      default: null,
    },
    tasks: { type: [taskSchema], default: [] },
    updatedAt: { type: Date, required: true },
    ...appliedEventsSchemaFields,
    ...outboxSchemaFields,
  },
  { collection: 'trials', minimize: false },
);
trialSchema.index({ activeKey: 1 }, { unique: true });
trialSchema.index({ customerId: 1, createdAt: -1, _id: -1 });
trialSchema.index({ customerId: 1, agentId: 1, endedAt: -1 });
trialSchema.index({ agentId: 1, 'activation.state': 1 });
trialSchema.index({ agentId: 1, status: 1 });
trialSchema.index({ status: 1, endsAt: 1 });
trialSchema.index({ 'activation.state': 1, 'activation.lockedUntil': 1 });
trialSchema.index({ 'tasks.id': 1 });
trialSchema.index({ 'conversion.lockedUntil': 1 });
trialSchema.index({ createdAt: -1, _id: -1 });
outboxIndex(trialSchema);

export type TrialModel = Model<TrialRecord>;
export const trialModel = (connection: Connection): TrialModel =>
  connection.model<TrialRecord>('Trial', trialSchema);
