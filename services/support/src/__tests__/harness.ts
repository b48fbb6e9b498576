import type { EventData, orchestrationCommands, Role, TaskOutput } from '@waooaw/shared';
import { ORCHESTRATION_COMMANDS_TOPIC, orchestrationEvents, supportEvents } from '@waooaw/shared';
import {
  graphqlExecutor,
  pollFor,
  startTestService,
  TEST_CALLER_SECRET,
  testConfig,
} from '@waooaw/shared/testing';
import type { TestClock } from '@waooaw/shared/testing';
import type { TicketRecord } from '../models/ticket';
import type { SupportDeps } from '../server';
import { createServer, environmentSchema } from '../server';

/** The defaults of the environment, with a sweep the tests run by hand. */
export const TEST_CONFIG: SupportDeps['config'] = testConfig(environmentSchema, {
  SUPPORT_SWEEP_INTERVAL_MS: '3600000',
});

/** DateTime values come back from in-process execution as Date objects: compare them as ISO strings. */
export const iso = (value: unknown) => new Date(value as string).toISOString();

type TaskUpdated = EventData<typeof orchestrationEvents.taskUpdated>;
type SubmitTask = EventData<typeof orchestrationCommands.submitTask>;

/** WowSupport's output (agents' `support.answer-ticket`), as the real skill shapes it. */
export function answerOutput(a: {
  resolved: boolean;
  confidence: number;
  articleId?: string;
  answer?: string;
  route?: string;
}): TaskOutput {
  return {
    format: 'application/json',
    title: 'Ticket answer',
    summary: a.resolved
      ? `answered from ${a.articleId} (confidence ${a.confidence})`
      : `escalate: best confidence ${a.confidence}`,
    content: JSON.stringify({
      agent: 'wow-support',
      capability: 'support.answer-ticket@1.0.0',
      at: new Date().toISOString(),
      question: 'q',
      resolved: a.resolved,
      confidence: a.confidence,
      answer: a.resolved ? (a.answer ?? 'The answer.') : null,
      articlesUsed: a.resolved && a.articleId ? [a.articleId] : [],
      escalation: a.resolved
        ? null
        : { reason: 'no article reached confidence 0.45', route: a.route ?? 'support.answer-ticket' },
    }),
  };
}

/** A CoE agent's L2 diagnosis (agents' `diagnose(area)`), as the real skill shapes it. */
export function diagnosisOutput(area: string, causes: { cause: string; fix: string }[]): TaskOutput {
  return {
    format: 'application/json',
    title: `L2 ${area} diagnosis`,
    summary: causes.length ? `${causes.length} likely cause(s)` : 'no rule matched: escalate to L3',
    content: JSON.stringify({
      agent: `wow-${area}`,
      capability: `diagnosis.${area}@1.0.0`,
      at: new Date().toISOString(),
      ticket: 't',
      likelyCauses: causes,
      facts: {},
      escalate: causes.length === 0,
      escalateTo: causes.length === 0 ? 'review.escalation' : null,
    }),
  };
}

/**
 * The support service on the real servers, driven in process with executeOperation; orchestration
 * (and so the agents) is played by the test: it reads the submit commands and publishes task updates.
 * `restart()` stops the service and starts a new one on the same database, as a redeploy would.
 */
export async function startSupport(
  options: { config?: Partial<SupportDeps['config']>; clock?: TestClock } = {},
) {
  const clock = options.clock;
  const t = await startTestService({
    name: 'support',
    collect: [...Object.values(supportEvents).map((e) => e.topic), ORCHESTRATION_COMMANDS_TOPIC],
    // Other test files' tasks are on the same broker: hear only what comes from now on.
    fromBeginning: false,
    create: (deps) =>
      createServer({
        ...deps,
        config: { ...TEST_CONFIG, ...options.config },
        ...(clock ? { clock: clock.now } : {}),
      }),
  });
  // The outside bus stands in for orchestration.
  const { outside } = t;

  /** Runs operations as a caller: a customer by default, anonymous with `null`. */
  const as = (sub: string, roles: Role[] | null = ['customer']) => {
    return async <T>(query: string, variables: Record<string, unknown> = {}) =>
      graphqlExecutor(t.server, TEST_CALLER_SECRET, sub)<T>(query, variables, roles);
  };

  /** orchestration reports on a task. */
  const taskUpdate = (
    taskId: string,
    update: { status: TaskUpdated['status']; output?: TaskOutput; error?: string; capability?: string },
  ) =>
    outside.publish(
      orchestrationEvents.taskUpdated,
      {
        taskId,
        status: update.status,
        capability: update.capability ?? 'support.answer-ticket',
        priority: 'HIGH',
        attempts: 1,
        instanceId: 'i-1',
        agentId: null,
        agentHandle: null,
        customerId: null,
        workflowId: null,
        sagaId: null,
        durationMs: 12,
        error: update.error ?? null,
        output: update.output ?? null,
        at: new Date().toISOString(),
      },
      { subject: taskId },
    );

  /** The submit commands the service sent orchestration for a task id. */
  const commandsFor = (taskId: string) =>
    t.events('orchestration.task.submit', taskId).map((e) => e.data as unknown as SubmitTask);
  /** Every submit command of a ticket's tasks. */
  const commandsOfTicket = (ticketId: string) =>
    t
      .events('orchestration.task.submit')
      .map((e) => e.data as unknown as SubmitTask)
      .filter((c) => c.taskId.startsWith(`support.${ticketId}.`));
  const eventsOf = (type: string, ticketId: string) => t.events(type, ticketId).map((e) => e.data);
  const queueEventsOf = (ticketId: string) =>
    t
      .events('support.queue.changed')
      .map((e) => e.data)
      .filter((d) => d.ticketId === ticketId);

  /** Waits until the ticket (read straight from the database) satisfies `check`. */
  const ticketWhen = (id: string, check: (t: TicketRecord) => boolean, what: string) =>
    pollFor(
      async () => {
        const t = await loadTicket(id);
        return t && check(t) ? t : undefined;
      },
      { what },
    );
  const loadTicket = (id: string) => t.server.models.tickets.findById(id).lean<TicketRecord>();

  return {
    get server() {
      return t.server;
    },
    get models() {
      return t.server.models;
    },
    sweep: () => t.server.sweep(),
    db: t.db,
    clock,
    outside,
    as,
    taskUpdate,
    commandsFor,
    commandsOfTicket,
    eventsOf,
    queueEventsOf,
    ticketWhen,
    loadTicket,
    /** Stops the service (its connection closes) and starts a new one on the same database. */
    restart: () => t.restart(),
    stop: () => t.stop(),
  };
}

export type Harness = Awaited<ReturnType<typeof startSupport>>;

export const TICKET_FIELDS = `id customerId subject description priority tier status
  agent { id } trial { id }
  assignee { kind id agents }
  sla { tier enteredAt targetSeconds dueAt firstResponseAt endedAt outcome breached breachedAt paused pausedSeconds }
  slaDueAt slaBreached breachedTiers
  history { at change actor { kind id } fromTier toTier fromStatus toStatus code reason }
  comments { id author { kind id } body internal }
  work { id tier capability agentHandle status summary error findings { agentHandle cause fix } task { id } }
  resolution { summary tier resolvedBy { kind id } confidence articleIds articles { id title } findings { agentHandle capability cause fix } }
  customerEscalations reopenableUntil createdAt firstResponseAt resolvedAt closedAt`;

export const OPEN_TICKET = `mutation($input: OpenTicketInput!) { openTicket(input: $input) { ${TICKET_FIELDS} } }`;
export const TICKET = `query($id: ID!) { ticket(id: $id) { ${TICKET_FIELDS} } }`;
export const ESCALATE = `mutation($id: ID!, $reason: String!, $toTier: SupportTier!) {
  escalateTicket(id: $id, reason: $reason, toTier: $toTier) { ${TICKET_FIELDS} } }`;
export const ASSIGN = `mutation($id: ID!, $assignee: ID!) { assignTicket(id: $id, assignee: $assignee) { ${TICKET_FIELDS} } }`;
export const RESOLVE = `mutation($id: ID!, $resolution: String!) { resolveTicket(id: $id, resolution: $resolution) { ${TICKET_FIELDS} } }`;
export const REOPEN = `mutation($id: ID!, $reason: String) { reopenTicket(id: $id, reason: $reason) { ${TICKET_FIELDS} } }`;
export const COMMENT = `mutation($id: ID!, $body: String!, $internal: Boolean, $waiting: Boolean) {
  addTicketComment(id: $id, body: $body, internal: $internal, waitingOnCustomer: $waiting) { ${TICKET_FIELDS} } }`;
export const QUEUE = `query($tier: SupportTier!, $first: Int) { supportQueue(tier: $tier, first: $first) { id tier status priority assignee { id } } }`;

export interface Ticket {
  id: string;
  customerId: string;
  subject: string;
  priority: string;
  tier: string;
  status: string;
  agent: { id: string } | null;
  trial: { id: string } | null;
  assignee: { kind: string; id: string; agents: string[] } | null;
  sla: {
    tier: string;
    enteredAt: string;
    targetSeconds: number;
    dueAt: string;
    firstResponseAt: string | null;
    endedAt: string | null;
    outcome: string | null;
    breached: boolean;
    breachedAt: string | null;
    paused: boolean;
    pausedSeconds: number;
  }[];
  slaDueAt: string | null;
  slaBreached: boolean;
  breachedTiers: string[];
  history: {
    at: string;
    change: string;
    actor: { kind: string; id: string };
    fromTier: string | null;
    toTier: string | null;
    fromStatus: string | null;
    toStatus: string | null;
    code: string | null;
    reason: string | null;
  }[];
  comments: { id: string; author: { kind: string; id: string }; body: string; internal: boolean }[];
  work: {
    id: string;
    tier: string;
    capability: string;
    agentHandle: string;
    status: string;
    summary: string | null;
    error: string | null;
    findings: { agentHandle: string; cause: string; fix: string }[];
    task: { id: string };
  }[];
  resolution: {
    summary: string;
    tier: string;
    resolvedBy: { kind: string; id: string };
    confidence: number | null;
    articleIds: string[];
    articles: { id: string; title: string }[];
    findings: { agentHandle: string; capability: string; cause: string; fix: string }[];
  } | null;
  customerEscalations: string[];
  reopenableUntil: string | null;
  createdAt: string;
  firstResponseAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
}
