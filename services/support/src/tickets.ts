import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type {
  Caller,
  Envelope,
  EventBus,
  EventData,
  Logger,
  OutboxEntry,
  OutboxRelay,
  SupportTier,
  TicketChange,
  TicketPriority,
  orchestrationEvents,
} from '@waooaw/shared';
import {
  activeTraceparent,
  continuedTrace,
  conflict,
  ErrorCode,
  forbidden,
  InputLimits,
  notFound,
  orchestrationCommands,
  outboxEntry,
  OWNER_OR_STAFF_ROLES,
  parseInput,
  PlatformError,
  requireRole,
  supportEvents,
  TICKET_PRIORITIES,
  updateWithRevision,
} from '@waooaw/shared';
import { actorOf, actsAsCustomer, assertCanSee, assertCanWorkAt, isStaff } from './access';
import type { Articles } from './articles';
import type { MachineConfig } from './domain/machine';
import * as machine from './domain/machine';
import { parseAnswer, selectArticles } from './domain/routing';
import { secondsToMs } from './domain/sla';
import { supportRank, tierRank } from './domain/tiers';
import type {
  HistoryRecord,
  SlaTargetsMs,
  TicketModel,
  TicketRecord,
  TicketState,
  WorkRecord,
} from './models/ticket';

type TaskUpdated = EventData<typeof orchestrationEvents.taskUpdated>;

export interface TicketConfig {
  /** The configured SLA of each tier, in ms. */
  slaTargetsMs: SlaTargetsMs;
  machine: MachineConfig;
  l1MaxArticles: number;
  l1TimeoutMs: number;
  l2TimeoutMs: number;
  maxOpenPerCustomer: number;
}

const MAX_COMMENTS = 500;
/** How often a change is retried when another change of the same ticket got in first. */
const MAX_ATTEMPTS = 10;

const reference = z.string().trim().min(1).max(200);
const slaSeconds = z
  .number()
  .positive('must be positive (fractions allowed)')
  .max(30 * 86_400)
  .nullish();
const openInput = z.object({
  subject: z
    .string()
    .trim()
    .min(3, 'subject must say what is wrong (at least 3 characters)')
    .max(InputLimits.nameChars, `subject has at most ${InputLimits.nameChars} characters`),
  description: z
    .string()
    .trim()
    .min(3, 'description must say what is wrong (at least 3 characters)')
    .max(InputLimits.ticketTextChars, `description has at most ${InputLimits.ticketTextChars} characters`),
  priority: z.enum(TICKET_PRIORITIES).nullish(),
  agentId: reference.nullish(),
  trialId: reference.nullish(),
  customerId: reference.nullish(),
  slaSeconds: z.object({ l1: slaSeconds, l2: slaSeconds, l3: slaSeconds }).nullish(),
});
const reasonText = (what: string) =>
  z
    .string()
    .trim()
    .min(3, `${what} must say why (at least 3 characters)`)
    .max(InputLimits.reasonChars, `${what} has at most ${InputLimits.reasonChars} characters`);
const commentBody = z
  .string()
  .trim()
  .min(1, 'body must not be empty')
  .max(InputLimits.ticketTextChars, `body has at most ${InputLimits.ticketTextChars} characters`);
const userId = z
  .string()
  .trim()
  .min(1, 'assignee is the user id of a support person')
  .max(200, 'assignee has at most 200 characters');

const TASK_PRIORITY: Record<TicketPriority, string> = {
  URGENT: 'CRITICAL',
  HIGH: 'HIGH',
  NORMAL: 'NORMAL',
  LOW: 'LOW',
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Changes whose history reason is what someone wrote (a comment, the resolution, why it was reopened):
 * their events leave it out, so the text only travels to those allowed to read the ticket.
 */
const TEXT_FREE_CHANGES: readonly TicketChange[] = ['COMMENTED', 'RESOLVED', 'REOPENED'];

/** The fields the machine owns (everything but the outbox and the applied event ids). */
function stateOf(record: TicketRecord): TicketState {
  const { outbox: _o, outboxLockedUntil: _l, appliedEventIds: _a, ...state } = record;
  return structuredClone(state);
}

/**
 * Tickets: every change goes through the state machine (domain/machine.ts) on a fresh copy, and is
 * written with its events (document outbox) in one update guarded by the ticket's revision, so two
 * concurrent changes never overwrite each other and no event is lost or published for a change that
 * did not happen. Work for the agents goes to orchestration as submit commands through the same
 * outbox; their results come back as orchestration.task.updated.
 */
export function createTickets(deps: {
  tickets: TicketModel;
  articles: Articles;
  bus: Pick<EventBus, 'source'>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  clock: () => Date;
  config: TicketConfig;
}) {
  const { tickets, bus, logger, clock, config } = deps;

  const request = (t: TicketState) => `${t.subject}\n${t.description}`;

  function submitCommand(
    t: TicketState,
    work: WorkRecord,
    articles: readonly ArticleLikeRecord[],
  ): OutboxEntry {
    const l1 = work.tier === 'L1';
    const l1Confidence = parseAnswer(t.work.find((w) => w.tier === 'L1')?.result ?? null)?.confidence;
    const input = l1
      ? {
          request: request(t),
          details: { articles: selectArticles(request(t), articles, config.l1MaxArticles) },
        }
      : { request: request(t), details: l1Confidence !== undefined ? { l1Confidence } : {} };
    return outboxEntry(
      bus,
      orchestrationCommands.submitTask,
      {
        taskId: work.id,
        actor: 'support',
        customerId: t.customerId,
        spec: {
          capability: work.capability,
          // Pinned: L1 is WowSupport, and each L2 diagnosis is the CoE agent of its area.
          agentHandle: work.agentHandle,
          input,
          // L1 answers in seconds: it goes ahead of ordinary work unless the ticket is LOW.
          priority:
            l1 && t.priority !== 'LOW' && t.priority !== 'URGENT' ? 'HIGH' : TASK_PRIORITY[t.priority],
          timeoutMs: l1 ? config.l1TimeoutMs : config.l2TimeoutMs,
        },
      },
      { subject: work.id, ...continuedTrace(t) },
    );
  }

  const inQueue = (t: TicketState) => machine.isUnresolved(t.status);

  /** The events (and commands) of a change from `before` (null for a new ticket) to `after`. */
  function outboxFor(
    before: TicketState | null,
    after: TicketState,
    added: HistoryRecord[],
    articles: readonly ArticleLikeRecord[] = [],
  ): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    const baseSequence = before?.history.length ?? 0;
    const slaBreached = after.sla.some((v) => v.breachedAt);
    added.forEach((h, k) => {
      // Internal notes are for support only: no event carries them to a customer's subscription.
      if (h.internal) return;
      const at = h.at.toISOString();
      entries.push(
        outboxEntry(
          bus,
          supportEvents.ticketUpdated,
          {
            ticketId: after._id,
            customerId: after.customerId,
            change: h.change,
            tier: h.toTier,
            previousTier: h.change === 'OPENED' ? null : h.fromTier,
            status: h.toStatus,
            previousStatus: h.change === 'OPENED' ? null : h.fromStatus,
            code: h.code,
            reason: TEXT_FREE_CHANGES.includes(h.change) ? null : h.reason,
            actorKind: h.actor.kind,
            actorId: h.actor.id,
            assignee: after.assignee?.id ?? null,
            slaDueAt: iso(after.slaDueAt),
            slaBreached,
            sequence: baseSequence + k + 1,
            at,
          },
          { subject: after._id, ...continuedTrace(after) },
        ),
      );
      if (h.change === 'OPENED')
        entries.push(
          outboxEntry(
            bus,
            supportEvents.ticketOpened,
            {
              ticketId: after._id,
              customerId: after.customerId,
              tier: h.toTier,
              priority: after.priority,
              agentId: after.agentId,
              trialId: after.trialId,
              at,
            },
            { subject: after._id, ...continuedTrace(after) },
          ),
        );
      if (h.change === 'ESCALATED')
        entries.push(
          outboxEntry(
            bus,
            supportEvents.ticketEscalated,
            {
              ticketId: after._id,
              customerId: after.customerId,
              fromTier: h.fromTier,
              toTier: h.toTier,
              code: h.code ?? 'SUPPORT_DECISION',
              reason: h.reason ?? '',
              actorKind: h.actor.kind,
              actorId: h.actor.id,
              at,
            },
            { subject: after._id, ...continuedTrace(after) },
          ),
        );
      if (h.change === 'RESOLVED' && after.resolution)
        entries.push(
          outboxEntry(
            bus,
            supportEvents.ticketResolved,
            {
              ticketId: after._id,
              customerId: after.customerId,
              tier: h.toTier,
              actorKind: h.actor.kind,
              actorId: h.actor.id,
              articleIds: after.resolution.articleIds,
              durationMs: Math.max(0, h.at.getTime() - (before ?? after).cycleStartedAt.getTime()),
              at,
            },
            { subject: after._id, ...continuedTrace(after) },
          ),
        );
    });
    // The queues: a ticket is in its tier's queue while unresolved.
    const at = after.updatedAt.toISOString();
    const queueEvent = (tier: SupportTier, change: 'ENTERED' | 'LEFT' | 'UPDATED') =>
      outboxEntry(
        bus,
        supportEvents.queueChanged,
        {
          tier,
          ticketId: after._id,
          change,
          status: after.status,
          priority: after.priority,
          assignee: after.assignee?.id ?? null,
          slaDueAt: iso(after.slaDueAt),
          at,
        },
        // Keyed by tier, so one queue's changes stay in order for its subscribers.
        { subject: after._id, key: tier, ...continuedTrace(after) },
      );
    const was = before && inQueue(before) ? before.tier : null;
    const is = inQueue(after) ? after.tier : null;
    if (was && was !== is) entries.push(queueEvent(was, 'LEFT'));
    if (is && is !== was) entries.push(queueEvent(is, 'ENTERED'));
    if (
      is &&
      is === was &&
      before &&
      (before.status !== after.status ||
        before.assignee?.id !== after.assignee?.id ||
        before.slaDueAt?.getTime() !== after.slaDueAt?.getTime())
    )
      entries.push(queueEvent(is, 'UPDATED'));
    for (const work of after.work)
      if (work.status === 'SUBMITTED' && !before?.work.some((w) => w.id === work.id))
        entries.push(submitCommand(after, work, articles));
    return entries;
  }

  /**
   * Applies `change` to the ticket and writes it with its events, if the ticket is still at the
   * revision it was read at (else reads it again and retries: updateWithRevision). `change` returns
   * false when there is nothing to do. With `eventId`, the change is applied once per event
   * (redeliveries are no-ops).
   */
  async function mutate(
    id: string,
    change: (draft: TicketState, now: Date, current: TicketRecord) => boolean | void,
    options: { eventId?: string } = {},
  ): Promise<{ ticket: TicketRecord; changed: boolean }> {
    const outcome = await updateWithRevision(
      tickets,
      id,
      (current) => {
        const before = stateOf(current);
        const draft = stateOf(current);
        const now = clock();
        if (change(draft, now, current) === false) return null;
        const added = draft.history.slice(before.history.length);
        const outbox = outboxFor(before, draft, added);
        // The revision is raised by the write itself.
        const { _id: _i, revision: _r, ...fields } = draft;
        return {
          update: { $set: fields, ...(outbox.length > 0 ? { $push: { outbox: { $each: outbox } } } : {}) },
          value: outbox.length,
        };
      },
      {
        // Tickets were stored with `revision` from the start (see RevisionField); their nested
        // records rely on the schema's casting (sub-document defaults).
        field: 'revision',
        cast: true,
        returnStored: true,
        projection: { outbox: 0 },
        eventId: options.eventId,
        attempts: MAX_ATTEMPTS,
        conflictMessage: 'This ticket is being changed by others right now; try again in a moment',
      },
    );
    if (!outcome.current) throw notFound('Ticket', id);
    if (!outcome.written) return { ticket: outcome.current, changed: false };
    if (outcome.value > 0) deps.relay.kick();
    return { ticket: outcome.stored, changed: true };
  }

  async function load(caller: Caller, id: string): Promise<TicketRecord> {
    const ticket = await tickets.findById(id, { outbox: 0 }).lean<TicketRecord>();
    if (!ticket) throw notFound('Ticket', id);
    assertCanSee(caller, ticket);
    return ticket;
  }

  async function open(caller: Caller | null, input: z.input<typeof openInput>): Promise<TicketRecord> {
    const who = requireRole(caller, ...OWNER_OR_STAFF_ROLES);
    const parsed = parseInput(openInput, input, 'input');
    const staff = isStaff(who);
    if (!staff && parsed.customerId && parsed.customerId !== who.sub)
      throw forbidden('Customers open tickets for themselves; leave customerId out');
    if (!staff && parsed.slaSeconds)
      throw forbidden("Only operators and admins can set a ticket's SLA (slaSeconds); leave it out");
    const customerId = parsed.customerId ?? who.sub;
    const unresolved = await tickets.countDocuments({
      customerId,
      status: { $in: ['OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER'] },
    });
    if (unresolved >= config.maxOpenPerCustomer)
      throw conflict(
        `${customerId === who.sub ? 'You have' : `${customerId} has`} ${unresolved} unresolved tickets, the most at once; add to one of them instead`,
        { limit: config.maxOpenPerCustomer },
      );
    const override = parsed.slaSeconds;
    const slaTargetsMs: SlaTargetsMs = {
      L1: override?.l1 ? secondsToMs(override.l1) : config.slaTargetsMs.L1,
      L2: override?.l2 ? secondsToMs(override.l2) : config.slaTargetsMs.L2,
      L3: override?.l3 ? secondsToMs(override.l3) : config.slaTargetsMs.L3,
    };
    const articles = await deps.articles.published();
    const state = machine.openTicket(
      {
        id: `tkt-${randomUUID()}`,
        customerId,
        subject: parsed.subject,
        description: parsed.description,
        priority: parsed.priority ?? 'NORMAL',
        agentId: parsed.agentId ?? null,
        trialId: parsed.trialId ?? null,
        slaTargetsMs,
        actor: actorOf(who),
      },
      clock(),
    );
    state.revision = 1;
    // Its escalations and SLA breaches, published from the sweep much later, continue this trace.
    state.traceparent = activeTraceparent() ?? null;
    const record: TicketRecord = {
      ...state,
      appliedEventIds: [],
      outbox: outboxFor(null, state, state.history, articles),
      outboxLockedUntil: null,
    };
    await tickets.create(record);
    deps.relay.kick();
    logger.info({ ticketId: state._id, customerId, priority: state.priority }, 'ticket opened');
    return record;
  }

  async function escalate(
    caller: Caller | null,
    id: string,
    reason: string,
    toTier: SupportTier,
  ): Promise<TicketRecord> {
    const who = requireRole(caller);
    const ticket = await load(who, id);
    const byCustomer = actsAsCustomer(who);
    // Support escalates tickets at or below its tier (support-l1 an L1 ticket, support-l2 up to L2).
    if (!byCustomer && !isStaff(who) && supportRank(who.roles) < tierRank(ticket.tier))
      throw forbidden(
        `This ticket is at ${ticket.tier}; only support at ${ticket.tier} or above, operators, admins or its customer can escalate it`,
      );
    const why = parseInput(reasonText('reason'), reason, 'reason');
    const { ticket: updated } = await mutate(id, (draft, now) =>
      machine.escalate(
        draft,
        {
          toTier,
          code: byCustomer ? 'CUSTOMER_REQUEST' : 'SUPPORT_DECISION',
          reason: why,
          actor: actorOf(who),
          byCustomer,
        },
        now,
      ),
    );
    logger.info({ ticketId: id, from: ticket.tier, to: toTier, by: who.sub }, 'ticket escalated');
    return updated;
  }

  async function assign(caller: Caller | null, id: string, assignee: string): Promise<TicketRecord> {
    const who = requireRole(caller, 'support-l1', 'support-l2', 'support-l3', 'operator', 'admin');
    const to = parseInput(userId, assignee, 'assignee');
    const ticket = await load(who, id);
    assertCanWorkAt(who, ticket.tier, 'assign');
    const { ticket: updated } = await mutate(id, (draft, now) => {
      // The tier may have moved on since it was read: check again against the fresh copy.
      assertCanWorkAt(who, draft.tier, 'assign');
      return machine.assign(draft, to, actorOf(who), now);
    });
    return updated;
  }

  async function resolveTicket(caller: Caller | null, id: string, resolution: string): Promise<TicketRecord> {
    const who = requireRole(caller, 'support-l1', 'support-l2', 'support-l3', 'operator', 'admin');
    const summary = parseInput(
      z
        .string()
        .trim()
        .min(3, 'resolution must say how it was solved (at least 3 characters)')
        .max(InputLimits.ticketTextChars, `resolution has at most ${InputLimits.ticketTextChars} characters`),
      resolution,
      'resolution',
    );
    const ticket = await load(who, id);
    assertCanWorkAt(who, ticket.tier, 'resolve');
    const { ticket: updated } = await mutate(id, (draft, now) => {
      assertCanWorkAt(who, draft.tier, 'resolve');
      machine.resolve(draft, { summary, actor: actorOf(who) }, now, config.machine);
    });
    logger.info({ ticketId: id, tier: updated.tier, by: who.sub }, 'ticket resolved');
    return updated;
  }

  async function reopen(
    caller: Caller | null,
    id: string,
    reason: string | null | undefined,
  ): Promise<TicketRecord> {
    const who = requireRole(caller, ...OWNER_OR_STAFF_ROLES);
    const ticket = await load(who, id);
    if (!isStaff(who) && ticket.customerId !== who.sub)
      throw forbidden("Only the ticket's customer (or an operator) can reopen it");
    const why = reason?.trim() ? parseInput(reasonText('reason'), reason, 'reason') : null;
    const { ticket: updated } = await mutate(id, (draft, now) =>
      machine.reopen(draft, actorOf(who), why, now),
    );
    return updated;
  }

  async function comment(
    caller: Caller | null,
    id: string,
    body: string,
    options: { internal?: boolean | null; waitingOnCustomer?: boolean | null },
  ): Promise<TicketRecord> {
    const who = requireRole(caller);
    const text = parseInput(commentBody, body, 'body');
    const ticket = await load(who, id);
    // Support reads every ticket but acts only at its tier or below (staff at any tier): a comment
    // answers the customer (first response) and can stop the SLA clock (waitingOnCustomer).
    const bySupport = !actsAsCustomer(who);
    if (bySupport) assertCanWorkAt(who, ticket.tier, 'comment on');
    if (ticket.comments.length >= MAX_COMMENTS)
      throw conflict(`This ticket has ${MAX_COMMENTS} comments, the most it may; open a new ticket`);
    const { ticket: updated } = await mutate(id, (draft, now) => {
      // The tier may have moved on since it was read: check again against the fresh copy.
      if (bySupport) assertCanWorkAt(who, draft.tier, 'comment on');
      machine.comment(
        draft,
        {
          id: `cmt-${randomUUID()}`,
          author: actorOf(who),
          body: text,
          internal: options.internal ?? false,
          waitingOnCustomer: options.waitingOnCustomer ?? false,
          byCustomer: !bySupport,
        },
        now,
      );
    });
    return updated;
  }

  /** orchestration's news of a task: only the tasks this service submitted (ids `support.<ticket>...`). */
  async function onTaskUpdated(data: TaskUpdated, envelope: Envelope) {
    const ticketId = machine.ticketIdOfTask(data.taskId);
    if (!ticketId) return;
    try {
      const { ticket, changed } = await mutate(
        ticketId,
        (draft, now) =>
          machine.recordWork(
            draft,
            { taskId: data.taskId, status: data.status, output: data.output, error: data.error },
            now,
            config.machine,
          ),
        { eventId: envelope.id },
      );
      if (changed)
        logger.debug(
          { ticketId, taskId: data.taskId, status: data.status, tier: ticket.tier },
          'task recorded',
        );
    } catch (err) {
      if (err instanceof PlatformError && err.code === ErrorCode.NOT_FOUND) return; // not (or no longer) ours
      throw err;
    }
  }

  /**
   * The SLA sweep: escalates (or, at L3, flags) tickets past their deadline, and closes resolved
   * tickets past the reopen window. Deadlines are data in MongoDB, so a restarted service (or
   * another instance) picks them up; the revision guard makes concurrent sweeps harmless.
   */
  async function sweep(limit = 200): Promise<{ breached: number; closed: number }> {
    const now = clock();
    let breached = 0;
    let closed = 0;
    const due = await tickets
      .find({ slaDueAt: { $ne: null, $lte: now } }, { _id: 1 })
      .sort({ slaDueAt: 1 })
      .limit(limit)
      .lean<{ _id: string }[]>();
    for (const { _id } of due) {
      const { ticket, changed } = await mutate(_id, (draft, at) => machine.breach(draft, at));
      if (!changed) continue;
      breached++;
      logger.warn({ ticketId: _id, tier: ticket.tier }, 'ticket SLA breached');
    }
    const closable = await tickets
      .find({ status: 'RESOLVED', reopenableUntil: { $ne: null, $lte: now } }, { _id: 1 })
      .limit(limit)
      .lean<{ _id: string }[]>();
    for (const { _id } of closable)
      if ((await mutate(_id, (draft, at) => machine.close(draft, at))).changed) closed++;
    return { breached, closed };
  }

  return { open, escalate, assign, resolve: resolveTicket, reopen, comment, onTaskUpdated, sweep, mutate };
}
export type Tickets = ReturnType<typeof createTickets>;

/** What L1's article selection needs of an article. */
interface ArticleLikeRecord {
  _id: string;
  title: string;
  body: string;
  tags: string[];
}
