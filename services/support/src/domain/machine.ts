import type {
  EscalationCode,
  SupportTier,
  TaskOutput,
  TaskStatus,
  TicketChange,
  TicketPriority,
  TicketStatus,
} from '@waooaw/shared';
import {
  conflict,
  ErrorCode,
  FINAL_TASK_STATUSES,
  forbidden,
  PlatformError,
  badUserInput,
  SUPPORT_L1_AGENT,
  SUPPORT_L1_CAPABILITY,
  SUPPORT_TIERS,
} from '@waooaw/shared';
import type {
  ActorRecord,
  FindingRecord,
  HistoryRecord,
  SlaTargetsMs,
  TicketState,
  WorkRecord,
} from '../models/ticket';
import { chooseDiagnoses, decideL1, decideL2, findingsOf, parseAnswer, parseJsonObject } from './routing';
import { endVisit, isBreached, pauseVisit, resumeVisit, slaDueAt, startVisit } from './sla';
import { isHigher, nextTier, PRIORITY_RANK } from './tiers';

/**
 * The ticket state machine: pure functions that change a ticket (a draft the caller persists) and
 * append one history entry per change. They enforce the ticket's rules (tiers only go up, a customer
 * escalates once per tier, reopening within the window, ...); who may call them is checked before.
 */

export interface MachineConfig {
  /** L1 resolves only at this confidence or more (and when the agent says it resolved it). */
  l1MinConfidence: number;
  /** How long after resolution the customer may reopen (then the sweep closes the ticket). */
  reopenWindowMs: number;
}

/** The platform's own actor: the SLA sweep, and decisions no agent made (a failed task). */
export const SYSTEM_ACTOR: ActorRecord = { kind: 'SYSTEM', id: 'support-sla' };

const UNRESOLVED: readonly TicketStatus[] = ['OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER'];
export const isUnresolved = (status: TicketStatus) => UNRESOLVED.includes(status);

/** orchestration task ids of a ticket's work: `support.<ticketId>.l1`, `support.<ticketId>.l2.<area>`. */
export const SUPPORT_TASK_PREFIX = 'support.';
export const l1TaskId = (ticketId: string) => `${SUPPORT_TASK_PREFIX}${ticketId}.l1`;
export const l2TaskId = (ticketId: string, area: string) => `${SUPPORT_TASK_PREFIX}${ticketId}.l2.${area}`;
export function ticketIdOfTask(taskId: string): string | null {
  const match = /^support\.([^.]+)\.l[12](\.|$)/.exec(taskId);
  return match?.[1] ?? null;
}

const short = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

function log(
  t: TicketState,
  now: Date,
  change: TicketChange,
  actor: ActorRecord,
  before: { tier: SupportTier; status: TicketStatus },
  extra: { code?: EscalationCode | null; reason?: string | null; internal?: boolean } = {},
) {
  const entry: HistoryRecord = {
    at: now,
    change,
    actor,
    fromTier: before.tier,
    toTier: t.tier,
    fromStatus: before.status,
    toStatus: t.status,
    code: extra.code ?? null,
    reason: extra.reason ?? null,
    internal: extra.internal ?? false,
  };
  t.history.push(entry);
}

const snapshot = (t: TicketState) => ({ tier: t.tier, status: t.status });
const currentVisit = (t: TicketState) => t.sla.at(-1)!;

/** The current tier answered (its agents' result, or a support person): stamps first responses. */
function respond(t: TicketState, now: Date) {
  const visit = t.sla.at(-1);
  if (visit && !visit.endedAt) visit.firstResponseAt ??= now;
  t.firstResponseAt ??= now;
}

/** Derived fields every change refreshes. */
export function refresh(t: TicketState, now: Date) {
  t.slaDueAt = slaDueAt(t);
  t.updatedAt = now;
}

export interface OpenInput {
  id: string;
  customerId: string;
  subject: string;
  description: string;
  priority: TicketPriority;
  agentId: string | null;
  trialId: string | null;
  slaTargetsMs: SlaTargetsMs;
  actor: ActorRecord;
}

/** A new ticket: at L1, with WowSupport's answer task queued (the caller submits it). */
export function openTicket(input: OpenInput, now: Date): TicketState {
  const l1: WorkRecord = {
    id: l1TaskId(input.id),
    tier: 'L1',
    capability: SUPPORT_L1_CAPABILITY,
    agentHandle: SUPPORT_L1_AGENT,
    status: 'SUBMITTED',
    submittedAt: now,
    finishedAt: null,
    summary: null,
    result: null,
    error: null,
    findings: [],
  };
  const t: TicketState = {
    _id: input.id,
    customerId: input.customerId,
    subject: input.subject,
    description: input.description,
    priority: input.priority,
    agentId: input.agentId,
    trialId: input.trialId,
    tier: 'L1',
    status: 'IN_PROGRESS',
    assignee: { kind: 'AGENT', id: SUPPORT_L1_AGENT, agents: [SUPPORT_L1_AGENT] },
    slaTargetsMs: input.slaTargetsMs,
    sla: [startVisit('L1', now, input.slaTargetsMs.L1)],
    slaDueAt: null,
    history: [],
    comments: [],
    work: [l1],
    resolution: null,
    customerEscalations: [],
    priorityRank: PRIORITY_RANK[input.priority],
    tierEnteredAt: now,
    cycleStartedAt: now,
    createdAt: now,
    updatedAt: now,
    firstResponseAt: null,
    resolvedAt: null,
    reopenableUntil: null,
    closedAt: null,
    revision: 0,
  };
  log(t, now, 'OPENED', input.actor, snapshot(t));
  refresh(t, now);
  return t;
}

/** Moves the ticket up to `to`: L2 starts its diagnosis agents, L3 waits in the human queue. */
function enterTier(
  t: TicketState,
  to: SupportTier,
  now: Date,
  why: { code: EscalationCode; reason: string; actor: ActorRecord },
) {
  const before = snapshot(t);
  endVisit(currentVisit(t), now, 'ESCALATED');
  t.sla.push(startVisit(to, now, t.slaTargetsMs[to]));
  t.tier = to;
  t.tierEnteredAt = now;
  if (to === 'L2' && !t.work.some((w) => w.tier === 'L2')) {
    const l1 = t.work.find((w) => w.tier === 'L1');
    const route = parseAnswer(l1?.result ?? null)?.escalation?.route ?? null;
    const diagnoses = chooseDiagnoses(`${t.subject}\n${t.description}`, route);
    for (const d of diagnoses)
      t.work.push({
        id: l2TaskId(t._id, d.area),
        tier: 'L2',
        capability: d.capability,
        agentHandle: d.agentHandle,
        status: 'SUBMITTED',
        submittedAt: now,
        finishedAt: null,
        summary: null,
        result: null,
        error: null,
        findings: [],
      });
    const agents = diagnoses.map((d) => d.agentHandle);
    t.status = 'IN_PROGRESS';
    t.assignee = { kind: 'AGENT', id: agents[0]!, agents };
  } else {
    t.status = 'OPEN';
    t.assignee = null;
  }
  log(t, now, 'ESCALATED', why.actor, before, { code: why.code, reason: short(why.reason, 1000) });
}

function invalidEscalation(message: string, reason: string, extensions: Record<string, unknown> = {}) {
  return new PlatformError(ErrorCode.INVALID_ESCALATION, message, { reason, ...extensions });
}

export interface EscalateInput {
  toTier: SupportTier;
  code: EscalationCode;
  reason: string;
  actor: ActorRecord;
  /** The ticket's customer asks (once per tier). */
  byCustomer: boolean;
}

/** A requested escalation: only up, only while unresolved, a customer once per tier. */
export function escalate(t: TicketState, input: EscalateInput, now: Date) {
  if (!isUnresolved(t.status))
    throw invalidEscalation(
      `This ticket is ${t.status}; only an unresolved ticket can be escalated${t.status === 'RESOLVED' ? ' (reopen it first)' : ''}`,
      'TICKET_RESOLVED',
      { status: t.status },
    );
  if (!isHigher(input.toTier, t.tier)) {
    const higher = SUPPORT_TIERS.filter((tier) => isHigher(tier, t.tier));
    throw invalidEscalation(
      higher.length === 0
        ? `This ticket is at ${t.tier}, the highest tier; it cannot be escalated further`
        : `This ticket is at ${t.tier} and tiers only go up: escalate it to ${higher.join(' or ')}, not ${input.toTier}`,
      'NOT_HIGHER',
      { tier: t.tier, toTier: input.toTier },
    );
  }
  if (input.byCustomer) {
    if (t.customerEscalations.includes(t.tier))
      throw invalidEscalation(
        `You already asked to escalate this ticket from ${t.tier}; a customer may ask once per tier`,
        'ALREADY_REQUESTED',
        { tier: t.tier },
      );
    t.customerEscalations.push(t.tier);
  }
  enterTier(t, input.toTier, now, input);
  refresh(t, now);
}

export interface ResolveInput {
  summary: string;
  actor: ActorRecord;
  articleIds?: string[];
  confidence?: number | null;
  findings?: FindingRecord[];
}

export function resolve(t: TicketState, input: ResolveInput, now: Date, config: MachineConfig) {
  if (!isUnresolved(t.status))
    throw conflict(`This ticket is already ${t.status}; reopen it to work on it again`, { status: t.status });
  const before = snapshot(t);
  respond(t, now);
  endVisit(currentVisit(t), now, 'RESOLVED');
  t.status = 'RESOLVED';
  t.resolution = {
    summary: input.summary,
    tier: t.tier,
    resolvedAt: now,
    resolvedBy: input.actor,
    confidence: input.confidence ?? null,
    articleIds: input.articleIds ?? [],
    findings: input.findings ?? [],
  };
  t.resolvedAt = now;
  t.reopenableUntil = new Date(now.getTime() + config.reopenWindowMs);
  log(t, now, 'RESOLVED', input.actor, before, { reason: short(input.summary) });
  refresh(t, now);
}

/** A support person takes the ticket; returns false when they already had it. */
export function assign(t: TicketState, assignee: string, actor: ActorRecord, now: Date): boolean {
  if (!isUnresolved(t.status))
    throw conflict(`This ticket is ${t.status}; only an unresolved ticket can be assigned`, {
      status: t.status,
    });
  if (t.assignee?.kind === 'HUMAN' && t.assignee.id === assignee) return false;
  const before = snapshot(t);
  t.assignee = { kind: 'HUMAN', id: assignee, agents: [] };
  if (t.status === 'OPEN') t.status = 'IN_PROGRESS';
  respond(t, now);
  log(t, now, 'ASSIGNED', actor, before, { reason: `assigned to ${assignee}` });
  refresh(t, now);
  return true;
}

/** Back to the tier that resolved it, OPEN, with a new SLA; only within the reopen window. */
export function reopen(t: TicketState, actor: ActorRecord, reason: string | null, now: Date) {
  if (t.status !== 'RESOLVED')
    throw new PlatformError(
      ErrorCode.TICKET_NOT_REOPENABLE,
      t.status === 'CLOSED'
        ? 'This ticket is closed (its reopen window is over); open a new ticket'
        : `This ticket is ${t.status}, not resolved; there is nothing to reopen`,
      { status: t.status, reopenableUntil: t.reopenableUntil?.toISOString() ?? null },
    );
  if (t.reopenableUntil && now.getTime() > t.reopenableUntil.getTime())
    throw new PlatformError(
      ErrorCode.TICKET_NOT_REOPENABLE,
      `This ticket could be reopened until ${t.reopenableUntil.toISOString()}; open a new ticket instead`,
      { status: t.status, reopenableUntil: t.reopenableUntil.toISOString() },
    );
  const before = snapshot(t);
  t.sla.push(startVisit(t.tier, now, t.slaTargetsMs[t.tier]));
  t.status = 'OPEN';
  t.assignee = null;
  t.resolution = null;
  t.resolvedAt = null;
  t.reopenableUntil = null;
  t.tierEnteredAt = now;
  t.cycleStartedAt = now;
  log(t, now, 'REOPENED', actor, before, { reason: reason ? short(reason, 1000) : null });
  refresh(t, now);
}

export interface CommentInput {
  id: string;
  author: ActorRecord;
  body: string;
  internal: boolean;
  waitingOnCustomer: boolean;
  byCustomer: boolean;
}

export function comment(t: TicketState, input: CommentInput, now: Date) {
  if (t.status === 'CLOSED') throw conflict('This ticket is closed; open a new ticket', { status: t.status });
  if (input.byCustomer && (input.internal || input.waitingOnCustomer))
    throw forbidden('Customers cannot write internal notes or mark a ticket as waiting on themselves');
  if (input.waitingOnCustomer && input.internal)
    throw badUserInput('An internal note cannot ask the customer: the customer never sees it', {
      field: 'waitingOnCustomer',
    });
  if (input.waitingOnCustomer && !isUnresolved(t.status))
    throw badUserInput(`This ticket is ${t.status}; only an unresolved ticket can wait on the customer`, {
      field: 'waitingOnCustomer',
    });
  const before = snapshot(t);
  t.comments.push({
    id: input.id,
    at: now,
    author: input.author,
    body: input.body,
    internal: input.internal,
  });
  if (!input.byCustomer && !input.internal && isUnresolved(t.status)) respond(t, now);
  log(t, now, 'COMMENTED', input.author, before, {
    internal: input.internal,
    reason: short(input.body, 140),
  });
  if (input.waitingOnCustomer && t.status !== 'WAITING_ON_CUSTOMER') {
    const waiting = snapshot(t);
    pauseVisit(currentVisit(t), now);
    t.status = 'WAITING_ON_CUSTOMER';
    log(t, now, 'WAITING_ON_CUSTOMER', input.author, waiting);
  } else if (input.byCustomer && t.status === 'WAITING_ON_CUSTOMER') {
    const waiting = snapshot(t);
    resumeVisit(currentVisit(t), now);
    t.status = t.assignee ? 'IN_PROGRESS' : 'OPEN';
    log(t, now, 'RESUMED', input.author, waiting);
  }
  refresh(t, now);
}

export interface WorkUpdate {
  taskId: string;
  status: TaskStatus;
  output: TaskOutput | null;
  error: string | null;
}

const isFinal = (status: TaskStatus) => FINAL_TASK_STATUSES.includes(status);

/**
 * orchestration's news of one of the ticket's tasks. It is recorded; when it is the last answer the
 * current tier was waiting for (its agents still own the ticket), the tier's verdict follows: L1
 * resolves with the article or escalates; L2 resolves with the findings or escalates to L3. Answers
 * for a tier the ticket has left (an SLA breach or a person moved it on) are only recorded.
 * Returns false when nothing changed (unknown task, or a task that had already finished).
 */
export function recordWork(t: TicketState, update: WorkUpdate, now: Date, config: MachineConfig): boolean {
  const work = t.work.find((w) => w.id === update.taskId);
  if (!work || isFinal(work.status) || (work.status === update.status && !isFinal(update.status)))
    return false;
  work.status = update.status;
  if (update.output) {
    work.summary = update.output.summary;
    work.result =
      update.output.format === 'application/json'
        ? parseJsonObject(update.output.content)
        : { text: update.output.content };
  }
  work.error = update.error;
  if (!isFinal(update.status)) {
    refresh(t, now);
    return true;
  }
  work.finishedAt = now;
  if (work.tier === 'L2') work.findings = findingsOf(work);
  const agentsOwnIt = t.status === 'IN_PROGRESS' && t.assignee?.kind === 'AGENT' && t.tier === work.tier;
  if (agentsOwnIt && work.tier === 'L1') {
    respond(t, now);
    const decision = decideL1(work, config.l1MinConfidence);
    if (decision.kind === 'resolve') {
      const cited = decision.articleIds.length ? `\n\nSource: ${decision.articleIds.join(', ')}` : '';
      resolve(
        t,
        {
          summary: `${decision.answer}${cited}`,
          actor: { kind: 'AGENT', id: work.agentHandle },
          articleIds: decision.articleIds,
          confidence: decision.confidence,
        },
        now,
        config,
      );
    } else {
      enterTier(t, 'L2', now, {
        code: decision.code,
        reason: decision.reason,
        actor: decision.code === 'AGENT_FAILED' ? SYSTEM_ACTOR : { kind: 'AGENT', id: work.agentHandle },
      });
    }
  } else if (agentsOwnIt && work.tier === 'L2') {
    const l2 = t.work.filter((w) => w.tier === 'L2');
    if (l2.every((w) => isFinal(w.status))) {
      respond(t, now);
      const decision = decideL2(l2);
      const agents = { kind: 'AGENT' as const, id: l2.map((w) => w.agentHandle).join(',') };
      if (decision.kind === 'resolve')
        resolve(t, { summary: decision.summary, actor: agents, findings: decision.findings }, now, config);
      else
        enterTier(t, 'L3', now, {
          code: decision.code,
          reason: decision.reason,
          actor: decision.code === 'AGENT_FAILED' ? SYSTEM_ACTOR : agents,
        });
    }
  }
  refresh(t, now);
  return true;
}

const describeMs = (ms: number) =>
  ms >= 3_600_000 && ms % 3_600_000 === 0
    ? `${ms / 3_600_000} h`
    : ms >= 60_000 && ms % 60_000 === 0
      ? `${ms / 60_000} min`
      : `${ms / 1000} s`;

/**
 * The SLA sweep's verdict on one ticket: a stay past its deadline is flagged, and L1/L2 escalate to
 * the next tier with SLA_BREACH; L3 has nowhere to go, so it stays flagged (SLA_BREACHED) in the
 * queue. Returns false when the ticket is not (or no longer) due.
 */
export function breach(t: TicketState, now: Date): boolean {
  if (!isBreached(t, now)) return false;
  const visit = currentVisit(t);
  visit.breachedAt = now;
  const reason = `SLA_BREACH: ${t.tier} did not resolve the ticket within its SLA of ${describeMs(visit.targetMs)} (due ${visit.dueAt.toISOString()})`;
  const next = nextTier(t.tier);
  if (next) enterTier(t, next, now, { code: 'SLA_BREACH', reason, actor: SYSTEM_ACTOR });
  else log(t, now, 'SLA_BREACHED', SYSTEM_ACTOR, snapshot(t), { code: 'SLA_BREACH', reason });
  refresh(t, now);
  return true;
}

/** Resolved tickets past their reopen window become CLOSED (final). */
export function close(t: TicketState, now: Date): boolean {
  if (t.status !== 'RESOLVED' || !t.reopenableUntil || t.reopenableUntil.getTime() > now.getTime())
    return false;
  const before = snapshot(t);
  t.status = 'CLOSED';
  t.closedAt = now;
  log(t, now, 'CLOSED', SYSTEM_ACTOR, before, { reason: 'the reopen window is over' });
  refresh(t, now);
  return true;
}
