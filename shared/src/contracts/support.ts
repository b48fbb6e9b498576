import { z } from 'zod';
import { defineEvent } from '../kafka/events';

/** Support tiers, lowest first: L1 the WowSupport agent, L2 CoE agents together, L3 a human expert. */
export const SUPPORT_TIERS = ['L1', 'L2', 'L3'] as const;
export type SupportTier = (typeof SUPPORT_TIERS)[number];

/**
 * OPEN (waiting for someone) -> IN_PROGRESS (an agent or a human works on it) <-> WAITING_ON_CUSTOMER
 * -> RESOLVED -> CLOSED (once the reopen window is over). A reopened ticket is OPEN again.
 */
export const TICKET_STATUSES = ['OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

/** Who did something to a ticket: its customer, an agent (by handle), a support human, or the platform. */
export const TICKET_ACTOR_KINDS = ['CUSTOMER', 'AGENT', 'HUMAN', 'SYSTEM'] as const;
export type TicketActorKind = (typeof TICKET_ACTOR_KINDS)[number];

/** What changed; one `support.ticket.updated` event (and one history entry) per change. */
export const TICKET_CHANGES = [
  'OPENED',
  'ESCALATED',
  'ASSIGNED',
  'RESOLVED',
  'REOPENED',
  'COMMENTED',
  'WAITING_ON_CUSTOMER',
  'RESUMED',
  'SLA_BREACHED',
  'CLOSED',
] as const;
export type TicketChange = (typeof TICKET_CHANGES)[number];

/** Why a ticket went up a tier. */
export const ESCALATION_CODES = [
  /** L1's agent was not confident enough in any article. */
  'LOW_CONFIDENCE',
  /** The tier's agent task failed, was rejected or cancelled. */
  'AGENT_FAILED',
  /** L2's agents found no cause they could stand behind. */
  'NEEDS_EXPERT',
  /** The ticket's customer asked for it (once per tier). */
  'CUSTOMER_REQUEST',
  /** A support person or an operator decided it. */
  'SUPPORT_DECISION',
  /** The tier's SLA deadline passed with the ticket still unresolved there. */
  'SLA_BREACH',
] as const;
export type EscalationCode = (typeof ESCALATION_CODES)[number];

/** How a ticket's presence in a tier's queue changed. */
export const QUEUE_CHANGES = ['ENTERED', 'LEFT', 'UPDATED'] as const;
export type QueueChange = (typeof QUEUE_CHANGES)[number];

/** The L1 capability (pinned to WowSupport) and the L2 diagnosis capabilities with their agents. */
export const SUPPORT_L1_CAPABILITY = 'support.answer-ticket';
export const SUPPORT_L1_AGENT = 'wow-support';

const tier = z.enum(SUPPORT_TIERS);
const status = z.enum(TICKET_STATUSES);

export const supportEvents = {
  /** A customer (or staff for them) opened a ticket; it starts at L1. */
  ticketOpened: defineEvent(
    'support.ticket.opened',
    z.object({
      ticketId: z.string(),
      customerId: z.string(),
      tier,
      priority: z.enum(TICKET_PRIORITIES),
      agentId: z.string().nullable(),
      trialId: z.string().nullable(),
      at: z.string(),
    }),
  ),
  /**
   * Every change of a ticket, in order (key = ticket id): feeds `ticketUpdated(id)`. It carries no
   * subject or text the customer wrote; the subscription's `ticket` field reads those with the
   * subscriber's rights. `customerId` lets a consumer (the gateway) keep other customers' events out.
   */
  ticketUpdated: defineEvent(
    'support.ticket.updated',
    z.object({
      ticketId: z.string(),
      customerId: z.string(),
      change: z.enum(TICKET_CHANGES),
      tier,
      previousTier: tier.nullable(),
      status,
      previousStatus: status.nullable(),
      /**
       * Escalations and SLA breaches: the code and the reason in words; assignments: a short note;
       * comments, resolutions and reopens: null (what someone wrote stays on the ticket, readable by
       * those allowed to read it).
       */
      code: z.enum(ESCALATION_CODES).nullable(),
      reason: z.string().nullable(),
      actorKind: z.enum(TICKET_ACTOR_KINDS),
      actorId: z.string(),
      /** The human's id or the (first) agent's handle working on it, if any. */
      assignee: z.string().nullable(),
      /** The current tier's deadline (null once resolved or while waiting on the customer). */
      slaDueAt: z.string().nullable(),
      slaBreached: z.boolean(),
      /** The change's number on the ticket (its place in the ticket's history, from 1): increasing per ticket. */
      sequence: z.number().int().positive(),
      at: z.string(),
    }),
  ),
  /** A ticket went up a tier. */
  ticketEscalated: defineEvent(
    'support.ticket.escalated',
    z.object({
      ticketId: z.string(),
      customerId: z.string(),
      fromTier: tier,
      toTier: tier,
      code: z.enum(ESCALATION_CODES),
      reason: z.string(),
      actorKind: z.enum(TICKET_ACTOR_KINDS),
      actorId: z.string(),
      at: z.string(),
    }),
  ),
  /** A ticket was resolved (by L1's agent with an article, L2's agents with findings, or a human). */
  ticketResolved: defineEvent(
    'support.ticket.resolved',
    z.object({
      ticketId: z.string(),
      customerId: z.string(),
      tier,
      actorKind: z.enum(TICKET_ACTOR_KINDS),
      actorId: z.string(),
      articleIds: z.array(z.string()),
      /** From opening (or reopening) to this resolution, in ms. */
      durationMs: z.number().min(0),
      at: z.string(),
    }),
  ),
  /**
   * A ticket entered or left a tier's queue (opened, escalated, reopened, resolved, closed), or
   * changed while in it (assigned, waiting): feeds `supportQueueChanged(tier)`. Key = tier.
   */
  queueChanged: defineEvent(
    'support.queue.changed',
    z.object({
      tier,
      ticketId: z.string(),
      change: z.enum(QUEUE_CHANGES),
      status,
      priority: z.enum(TICKET_PRIORITIES),
      assignee: z.string().nullable(),
      slaDueAt: z.string().nullable(),
      at: z.string(),
    }),
  ),
};

/** A platform help article: the agents' built-in help centre and the first articles of support's knowledge base. */
export interface HelpArticle {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly tags: readonly string[];
}

/** The platform's own help articles (one list, so WowSupport and the knowledge base answer alike). */
export const PLATFORM_HELP_ARTICLES: readonly HelpArticle[] = [
  {
    id: 'kb-trial-cancel',
    title: 'Cancel a trial before it converts',
    body: 'Open My agents, choose the agent on trial and select Cancel trial before the last trial day. You keep every deliverable and are not charged.',
    tags: ['trial', 'cancel', 'billing'],
  },
  {
    id: 'kb-refund',
    title: 'Refund rules for cancelled trials and subscriptions',
    body: 'Trials are free, so there is nothing to refund. A paid subscription cancelled within 7 days of renewal is refunded in full to the original payment method within 5-7 working days.',
    tags: ['refund', 'billing', 'cancel'],
  },
  {
    id: 'kb-gst-invoice',
    title: 'Download GST invoices',
    body: 'Invoices with your GSTIN are under Billing, Invoices. Add or change the GSTIN before the billing date so it appears on the invoice.',
    tags: ['gst', 'invoice', 'billing'],
  },
  {
    id: 'kb-billing-email',
    title: 'Change the billing email',
    body: 'Go to Billing, Contacts and edit the billing email. Invoices and payment receipts go to the new address from the next cycle.',
    tags: ['billing', 'email', 'account'],
  },
  {
    id: 'kb-plan-change',
    title: 'Agent stopped replying after a plan change',
    body: 'When a plan changes the agent is re-provisioned, which takes up to 10 minutes. If it still does not reply, check the plan includes the capability you use.',
    tags: ['plan', 'agent', 'troubleshooting'],
  },
  {
    id: 'kb-webhook-401',
    title: 'Webhooks return 401 Unauthorized',
    body: 'A 401 from your endpoint means the signing secret or API key changed. Rotate the secret in Integrations and update your endpoint.',
    tags: ['webhook', 'integration', 'auth'],
  },
];
