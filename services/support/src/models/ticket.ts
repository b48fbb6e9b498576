import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import type {
  EscalationCode,
  OutboxDocument,
  SupportTier,
  TaskStatus,
  TicketActorKind,
  TicketChange,
  TicketPriority,
  TicketStatus,
} from '@waooaw/shared';
import {
  appliedEventsSchemaFields,
  ESCALATION_CODES,
  outboxIndex,
  outboxSchemaFields,
  SUPPORT_TIERS,
  TASK_STATUSES,
  TICKET_ACTOR_KINDS,
  TICKET_CHANGES,
  TICKET_PRIORITIES,
  TICKET_STATUSES,
} from '@waooaw/shared';

export interface ActorRecord {
  kind: TicketActorKind;
  id: string;
}

/**
 * One stay of a ticket at a tier and its SLA: the tier must resolve the ticket or hand it on by
 * `dueAt`. The deadline is data (not a timer), so it survives restarts; the sweep finds due tickets
 * through the ticket's `slaDueAt`.
 */
export interface SlaVisitRecord {
  tier: SupportTier;
  enteredAt: Date;
  targetMs: number;
  /** enteredAt + targetMs, moved on by the time spent waiting on the customer. */
  dueAt: Date;
  firstResponseAt: Date | null;
  endedAt: Date | null;
  outcome: 'RESOLVED' | 'ESCALATED' | null;
  breachedAt: Date | null;
  /** Set while the ticket waits on the customer (the clock stands still). */
  pausedAt: Date | null;
  pausedMs: number;
}

export interface HistoryRecord {
  at: Date;
  change: TicketChange;
  actor: ActorRecord;
  fromTier: SupportTier;
  toTier: SupportTier;
  fromStatus: TicketStatus;
  toStatus: TicketStatus;
  code: EscalationCode | null;
  reason: string | null;
  /** An internal note's entry: hidden from the customer. */
  internal: boolean;
}

export interface CommentRecord {
  id: string;
  at: Date;
  author: ActorRecord;
  body: string;
  internal: boolean;
}

export interface FindingRecord {
  agentHandle: string;
  capability: string;
  cause: string;
  fix: string;
}

/** A task an agent runs for the ticket through orchestration (its id is derived from the ticket). */
export interface WorkRecord {
  id: string;
  tier: SupportTier;
  capability: string;
  agentHandle: string;
  status: TaskStatus;
  submittedAt: Date;
  finishedAt: Date | null;
  summary: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
  findings: FindingRecord[];
}

export interface ResolutionRecord {
  summary: string;
  tier: SupportTier;
  resolvedAt: Date;
  resolvedBy: ActorRecord;
  confidence: number | null;
  articleIds: string[];
  findings: FindingRecord[];
}

export interface AssigneeRecord {
  kind: 'AGENT' | 'HUMAN';
  id: string;
  agents: string[];
}

export type SlaTargetsMs = Record<SupportTier, number>;

/** Everything the state machine reads and writes (the record minus outbox and applied events). */
export interface TicketState {
  _id: string;
  customerId: string;
  subject: string;
  description: string;
  priority: TicketPriority;
  agentId: string | null;
  trialId: string | null;
  tier: SupportTier;
  status: TicketStatus;
  assignee: AssigneeRecord | null;
  /** The SLA seconds this ticket runs on (the configured ones, or an operator's override), in ms. */
  slaTargetsMs: SlaTargetsMs;
  sla: SlaVisitRecord[];
  /** The current tier's deadline while it runs (unresolved, not waiting, not yet breached); else null. */
  slaDueAt: Date | null;
  history: HistoryRecord[];
  comments: CommentRecord[];
  work: WorkRecord[];
  resolution: ResolutionRecord | null;
  /** Tiers the customer asked to escalate from (once per tier). */
  customerEscalations: SupportTier[];
  /** 2 for URGENT ... -1 for LOW: the queue's first sort key. */
  priorityRank: number;
  /** When the ticket entered its current tier: the queue's second sort key. */
  tierEnteredAt: Date;
  /** When the ticket was opened or last reopened (resolution durations count from here). */
  cycleStartedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  firstResponseAt: Date | null;
  resolvedAt: Date | null;
  reopenableUntil: Date | null;
  closedAt: Date | null;
  /** Incremented by every write: the optimistic-concurrency guard. */
  revision: number;
  /** The span that opened the ticket (W3C traceparent, with tracing on); see continuedTrace. */
  traceparent?: string | null;
}

export interface TicketRecord extends TicketState, OutboxDocument {
  appliedEventIds: string[];
}

const actorSchema = new Schema<ActorRecord>(
  { kind: { type: String, enum: TICKET_ACTOR_KINDS }, id: String },
  { _id: false },
);

const visitSchema = new Schema<SlaVisitRecord>(
  {
    tier: { type: String, enum: SUPPORT_TIERS },
    enteredAt: Date,
    targetMs: Number,
    dueAt: Date,
    firstResponseAt: { type: Date, default: null },
    endedAt: { type: Date, default: null },
    outcome: { type: String, default: null },
    breachedAt: { type: Date, default: null },
    pausedAt: { type: Date, default: null },
    pausedMs: { type: Number, default: 0 },
  },
  { _id: false },
);

const historySchema = new Schema<HistoryRecord>(
  {
    at: Date,
    change: { type: String, enum: TICKET_CHANGES },
    actor: actorSchema,
    fromTier: { type: String, enum: SUPPORT_TIERS },
    toTier: { type: String, enum: SUPPORT_TIERS },
    fromStatus: { type: String, enum: TICKET_STATUSES },
    toStatus: { type: String, enum: TICKET_STATUSES },
    code: { type: String, enum: [...ESCALATION_CODES, null], default: null },
    reason: { type: String, default: null },
    internal: { type: Boolean, default: false },
  },
  { _id: false },
);

const commentSchema = new Schema<CommentRecord>(
  { id: String, at: Date, author: actorSchema, body: String, internal: Boolean },
  { _id: false },
);

const findingSchema = new Schema<FindingRecord>(
  { agentHandle: String, capability: String, cause: String, fix: String },
  { _id: false },
);

const workSchema = new Schema<WorkRecord>(
  {
    id: String,
    tier: { type: String, enum: SUPPORT_TIERS },
    capability: String,
    agentHandle: String,
    status: { type: String, enum: TASK_STATUSES },
    submittedAt: Date,
    finishedAt: { type: Date, default: null },
    summary: { type: String, default: null },
    result: { type: Schema.Types.Mixed, default: null },
    error: { type: String, default: null },
    findings: { type: [findingSchema], default: [] },
  },
  { _id: false, minimize: false },
);

const resolutionSchema = new Schema<ResolutionRecord>(
  {
    summary: String,
    tier: { type: String, enum: SUPPORT_TIERS },
    resolvedAt: Date,
    resolvedBy: actorSchema,
    confidence: { type: Number, default: null },
    articleIds: { type: [String], default: [] },
    findings: { type: [findingSchema], default: [] },
  },
  { _id: false },
);

const ticketSchema = new Schema<TicketRecord>(
  {
    _id: String,
    customerId: { type: String, required: true },
    subject: { type: String, required: true },
    description: { type: String, required: true },
    priority: { type: String, enum: TICKET_PRIORITIES, required: true },
    agentId: { type: String, default: null },
    trialId: { type: String, default: null },
    tier: { type: String, enum: SUPPORT_TIERS, required: true },
    status: { type: String, enum: TICKET_STATUSES, required: true },
    assignee: {
      type: new Schema<AssigneeRecord>(
        { kind: String, id: String, agents: { type: [String], default: [] } },
        { _id: false },
      ),
      default: null,
    },
    slaTargetsMs: { type: Schema.Types.Mixed, required: true },
    sla: { type: [visitSchema], default: [] },
    slaDueAt: { type: Date, default: null },
    history: { type: [historySchema], default: [] },
    comments: { type: [commentSchema], default: [] },
    work: { type: [workSchema], default: [] },
    resolution: { type: resolutionSchema, default: null },
    customerEscalations: { type: [String], default: [] },
    priorityRank: { type: Number, required: true },
    tierEnteredAt: { type: Date, required: true },
    cycleStartedAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    firstResponseAt: { type: Date, default: null },
    resolvedAt: { type: Date, default: null },
    reopenableUntil: { type: Date, default: null },
    closedAt: { type: Date, default: null },
    revision: { type: Number, required: true },
    traceparent: { type: String, default: null },
    ...appliedEventsSchemaFields,
    ...outboxSchemaFields,
  },
  { collection: 'tickets', minimize: false },
);
ticketSchema.index({ customerId: 1, createdAt: -1, _id: -1 });
// The queues: a tier's unresolved tickets, most urgent first.
ticketSchema.index({ tier: 1, status: 1, priorityRank: -1, tierEnteredAt: 1 });
// The SLA sweep: due deadlines; and the auto-close of resolved tickets past their reopen window.
ticketSchema.index({ slaDueAt: 1 });
ticketSchema.index({ status: 1, reopenableUntil: 1 });
ticketSchema.index({ 'sla.enteredAt': 1 });
ticketSchema.index({ createdAt: -1, _id: -1 });
outboxIndex(ticketSchema);

export type TicketModel = Model<TicketRecord>;
export const ticketModel = (connection: Connection): TicketModel =>
  connection.model<TicketRecord>('Ticket', ticketSchema);
