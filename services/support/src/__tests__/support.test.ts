import type { mongo } from 'mongoose';
import { InputLimits } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import type { Harness, Ticket } from './harness';
import {
  answerOutput,
  ASSIGN,
  COMMENT,
  diagnosisOutput,
  ESCALATE,
  iso,
  OPEN_TICKET,
  QUEUE,
  REOPEN,
  RESOLVE,
  startSupport,
  TICKET,
} from './harness';

interface Article {
  id: string;
  title: string;
  body: string;
  tags: string[];
  status: string;
  updatedBy: string;
}

const ARTICLE_FIELDS = 'id title body tags status updatedBy';
const ARTICLES = `query($query: String, $status: ArticleStatus, $first: Int) {
  knowledgeArticles(query: $query, status: $status, first: $first) { ${ARTICLE_FIELDS} } }`;

describe('support', () => {
  let s: Harness;
  beforeAll(async () => {
    s = await startSupport();
  });
  afterAll(() => s.stop());

  const customer = () => uniqueName('cust');
  const openAs = async (who: string, input: Record<string, unknown>) => {
    const result = await s.as(who)<{ openTicket: Ticket }>(OPEN_TICKET, { input });
    expect(result.errors).toBeUndefined();
    return result.data!.openTicket;
  };
  const read = async (id: string, who = 'op-reader', roles: Parameters<Harness['as']>[1] = ['operator']) => {
    const result = await s.as(who, roles)<{ ticket: Ticket | null }>(TICKET, { id });
    expect(result.errors).toBeUndefined();
    return result.data!.ticket!;
  };
  const l1 = (id: string) => `support.${id}.l1`;
  const command = (taskId: string) =>
    pollFor(() => s.commandsFor(taskId)[0], { what: `the submit command of ${taskId}` });
  const changesOf = (id: string) => s.eventsOf('support.ticket.updated', id).map((e) => e.change);

  describe('L1: WowSupport answers from the knowledge base', () => {
    it('resolves a ticket that matches an article, citing it, in one round trip', async () => {
      const cust = customer();
      const t = await openAs(cust, {
        subject: 'Cancel my trial',
        description: 'How do I cancel a trial before it converts?',
        agentId: 'agent-42',
        trialId: 'trial-42',
      });
      expect(t).toMatchObject({
        customerId: cust,
        tier: 'L1',
        status: 'IN_PROGRESS',
        priority: 'NORMAL',
        assignee: { kind: 'AGENT', id: 'wow-support', agents: ['wow-support'] },
        agent: { id: 'agent-42' },
        trial: { id: 'trial-42' },
        slaBreached: false,
        resolution: null,
      });
      expect(t.sla).toHaveLength(1);
      expect(t.sla[0]).toMatchObject({ tier: 'L1', targetSeconds: 60, breached: false, outcome: null });
      expect(Date.parse(iso(t.slaDueAt)) - Date.parse(iso(t.createdAt))).toBe(60_000);
      expect(t.history.map((h) => [h.change, h.actor.kind, h.actor.id])).toEqual([
        ['OPENED', 'CUSTOMER', cust],
      ]);

      const cmd = await command(l1(t.id));
      expect(cmd).toMatchObject({
        taskId: l1(t.id),
        actor: 'support',
        customerId: cust,
        spec: {
          capability: 'support.answer-ticket',
          agentHandle: 'wow-support',
          priority: 'HIGH',
          timeoutMs: 10_000,
          input: {
            request: 'Cancel my trial\nHow do I cancel a trial before it converts?',
          },
        },
      });
      const sent = (
        cmd.spec.input as { details: { articles: { id: string; title: string; body: string }[] } }
      ).details.articles;
      expect(sent.length).toBeLessThanOrEqual(8);
      expect(sent[0]).toMatchObject({ id: 'kb-trial-cancel', title: 'Cancel a trial before it converts' });

      await s.taskUpdate(l1(t.id), { status: 'WORKING' });
      await s.taskUpdate(l1(t.id), {
        status: 'COMPLETED',
        output: answerOutput({
          resolved: true,
          confidence: 0.62,
          articleId: 'kb-trial-cancel',
          answer: 'Open My agents, choose the agent on trial and select Cancel trial.',
        }),
      });
      await s.ticketWhen(t.id, (x) => x.status === 'RESOLVED', 'the L1 resolution');
      const done = await read(t.id, cust, ['customer']);
      expect(done).toMatchObject({
        tier: 'L1',
        status: 'RESOLVED',
        slaDueAt: null,
        resolution: {
          tier: 'L1',
          resolvedBy: { kind: 'AGENT', id: 'wow-support' },
          confidence: 0.62,
          articleIds: ['kb-trial-cancel'],
          articles: [{ id: 'kb-trial-cancel', title: 'Cancel a trial before it converts' }],
          summary:
            'Open My agents, choose the agent on trial and select Cancel trial.\n\nSource: kb-trial-cancel',
        },
        work: [{ id: l1(t.id), status: 'COMPLETED', agentHandle: 'wow-support' }],
      });
      expect(done.sla[0]).toMatchObject({ outcome: 'RESOLVED', breached: false });
      expect(done.firstResponseAt).not.toBeNull();
      expect(done.reopenableUntil).not.toBeNull();
      expect(done.history.map((h) => h.change)).toEqual(['OPENED', 'RESOLVED']);

      // The events: opened, every change in order, resolved, and the L1 queue in and out.
      await pollFor(() => s.queueEventsOf(t.id).length === 2, { what: 'the queue events' });
      expect(s.eventsOf('support.ticket.opened', t.id)).toEqual([
        expect.objectContaining({
          ticketId: t.id,
          customerId: cust,
          tier: 'L1',
          priority: 'NORMAL',
          trialId: 'trial-42',
        }),
      ]);
      expect(
        s.eventsOf('support.ticket.updated', t.id).map((e) => [e.change, e.tier, e.status, e.sequence]),
      ).toEqual([
        ['OPENED', 'L1', 'IN_PROGRESS', 1],
        ['RESOLVED', 'L1', 'RESOLVED', 2],
      ]);
      expect(s.eventsOf('support.ticket.resolved', t.id)).toEqual([
        expect.objectContaining({
          tier: 'L1',
          actorKind: 'AGENT',
          actorId: 'wow-support',
          articleIds: ['kb-trial-cancel'],
        }),
      ]);
      expect(s.queueEventsOf(t.id).map((e) => [e.tier, e.change, e.status])).toEqual([
        ['L1', 'ENTERED', 'IN_PROGRESS'],
        ['L1', 'LEFT', 'RESOLVED'],
      ]);
    });

    it("escalates to L2 with the reason when WowSupport is not confident, and L2 resolves with its agents' findings", async () => {
      const cust = customer();
      const t = await openAs(cust, {
        subject: 'Webhook to our CRM returns 401',
        description: 'Since yesterday every webhook call to our CRM fails with 401.',
        priority: 'HIGH',
      });
      await command(l1(t.id));
      await s.taskUpdate(l1(t.id), {
        status: 'COMPLETED',
        output: answerOutput({ resolved: false, confidence: 0.12, route: 'diagnosis.security' }),
      });
      await s.ticketWhen(t.id, (x) => x.tier === 'L2', 'the escalation to L2');
      const atL2 = await read(t.id, cust, ['customer']);
      expect(atL2).toMatchObject({
        tier: 'L2',
        status: 'IN_PROGRESS',
        assignee: { kind: 'AGENT', id: 'wow-security', agents: ['wow-security', 'wow-integration'] },
      });
      const escalation = atL2.history.at(-1)!;
      expect(escalation).toMatchObject({
        change: 'ESCALATED',
        code: 'LOW_CONFIDENCE',
        actor: { kind: 'AGENT', id: 'wow-support' },
        fromTier: 'L1',
        toTier: 'L2',
      });
      expect(escalation.reason).toBe(
        'WowSupport was not confident enough to answer (confidence 0.12, needs 0.45): no article reached confidence 0.45',
      );
      expect(atL2.sla.map((v) => [v.tier, v.outcome, v.targetSeconds])).toEqual([
        ['L1', 'ESCALATED', 60],
        ['L2', null, 900],
      ]);

      // The diagnosis agents the ticket needs: security (401) and integration (webhook, CRM), in parallel.
      const security = await command(`support.${t.id}.l2.security`);
      const integration = await command(`support.${t.id}.l2.integration`);
      expect(security.spec).toMatchObject({
        capability: 'diagnosis.security',
        agentHandle: 'wow-security',
        priority: 'HIGH',
        timeoutMs: 60_000,
        input: { details: { l1Confidence: 0.12 } },
      });
      expect(integration.spec).toMatchObject({
        capability: 'diagnosis.integration',
        agentHandle: 'wow-integration',
      });
      expect(
        s
          .commandsOfTicket(t.id)
          .map((c) => c.taskId)
          .sort(),
      ).toEqual([l1(t.id), `support.${t.id}.l2.integration`, `support.${t.id}.l2.security`].sort());

      await s.taskUpdate(`support.${t.id}.l2.security`, {
        status: 'COMPLETED',
        capability: 'diagnosis.security',
        output: diagnosisOutput('security', [
          { cause: 'Token missing, expired or signed with a rotated key', fix: 'Check the token expiry' },
        ]),
      });
      await s.ticketWhen(
        t.id,
        (x) => x.work.some((w) => w.status === 'COMPLETED' && w.tier === 'L2'),
        'one finding',
      );
      expect((await read(t.id)).status).toBe('IN_PROGRESS'); // waits for every agent
      await s.taskUpdate(`support.${t.id}.l2.integration`, {
        status: 'COMPLETED',
        capability: 'diagnosis.integration',
        output: diagnosisOutput('integration', [
          { cause: 'The integration still uses the old API key', fix: 'Update the stored credential' },
        ]),
      });
      await s.ticketWhen(t.id, (x) => x.status === 'RESOLVED', 'the L2 resolution');
      const done = await read(t.id, cust, ['customer']);
      expect(done.resolution).toMatchObject({
        tier: 'L2',
        resolvedBy: { kind: 'AGENT', id: 'wow-security,wow-integration' },
        articleIds: [],
        findings: [
          {
            agentHandle: 'wow-security',
            capability: 'diagnosis.security',
            cause: 'Token missing, expired or signed with a rotated key',
            fix: 'Check the token expiry',
          },
          {
            agentHandle: 'wow-integration',
            capability: 'diagnosis.integration',
            cause: 'The integration still uses the old API key',
            fix: 'Update the stored credential',
          },
        ],
      });
      expect(done.resolution!.summary).toContain(
        'wow-integration: The integration still uses the old API key',
      );

      await pollFor(() => s.queueEventsOf(t.id).length === 4, { what: 'the queue events' });
      expect(s.queueEventsOf(t.id).map((e) => [e.tier, e.change])).toEqual([
        ['L1', 'ENTERED'],
        ['L1', 'LEFT'],
        ['L2', 'ENTERED'],
        ['L2', 'LEFT'],
      ]);
      expect(s.eventsOf('support.ticket.escalated', t.id)).toEqual([
        expect.objectContaining({ fromTier: 'L1', toTier: 'L2', code: 'LOW_CONFIDENCE', actorKind: 'AGENT' }),
      ]);
      expect(changesOf(t.id)).toEqual(['OPENED', 'ESCALATED', 'RESOLVED']);
    });
  });

  describe('L2 -> L3: the human expert queue', () => {
    it('escalates to L3 when the agents find nothing; support-l3 assigns and resolves it', async () => {
      const cust = customer();
      const t = await openAs(cust, {
        subject: 'Dashboard numbers are wrong',
        description: 'The leads dashboard shows zero for last week although we had visits.',
      });
      await command(l1(t.id));
      // L1's task is rejected (no WowSupport instance): straight to L2 with that reason.
      await s.taskUpdate(l1(t.id), {
        status: 'REJECTED',
        error: 'No registered instance of wow-support offers it',
      });
      await s.ticketWhen(t.id, (x) => x.tier === 'L2', 'L2');
      expect((await read(t.id)).history.at(-1)).toMatchObject({
        code: 'AGENT_FAILED',
        actor: { kind: 'SYSTEM', id: 'support-sla' },
        reason:
          'WowSupport could not answer (task REJECTED: No registered instance of wow-support offers it)',
      });
      const analytics = `support.${t.id}.l2.analytics`;
      await command(analytics);
      expect(s.commandsOfTicket(t.id).map((c) => c.taskId)).toEqual([l1(t.id), analytics]);
      await s.taskUpdate(analytics, {
        status: 'COMPLETED',
        capability: 'diagnosis.analytics',
        output: diagnosisOutput('analytics', []),
      });
      await s.ticketWhen(t.id, (x) => x.tier === 'L3', 'L3');

      const atL3 = await read(t.id, cust, ['customer']);
      expect(atL3).toMatchObject({ tier: 'L3', status: 'OPEN', assignee: null });
      expect(atL3.history.at(-1)).toMatchObject({
        change: 'ESCALATED',
        code: 'NEEDS_EXPERT',
        fromTier: 'L2',
        toTier: 'L3',
        reason: 'L2 could not resolve it: wow-analytics: no likely cause found, asks for escalation',
      });
      expect(atL3.sla.map((v) => v.tier)).toEqual(['L1', 'L2', 'L3']);
      expect(atL3.sla[2]!.targetSeconds).toBe(7200);

      // The L3 queue, for support roles only.
      const queue = await s.as('expert-1', ['support-l3'])<{
        supportQueue: { id: string; status: string }[];
      }>(QUEUE, {
        tier: 'L3',
        first: 100,
      });
      expect(queue.data!.supportQueue).toContainEqual({
        id: t.id,
        tier: 'L3',
        status: 'OPEN',
        priority: 'NORMAL',
        assignee: null,
      });
      expect((await s.as(cust)(QUEUE, { tier: 'L3' })).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect(
        (await s.as('support-x', ['support-l1'])(QUEUE, { tier: 'L3', first: 0 })).errors?.[0]?.extensions
          .code,
      ).toBe('BAD_USER_INPUT');

      // Only support at L3 (or staff) may take and resolve an L3 ticket.
      const byL1 = await s.as('agent-l1', ['support-l1'])(RESOLVE, { id: t.id, resolution: 'Closing it' });
      expect(byL1.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
      expect(byL1.errors?.[0]?.message).toContain('Only support at L3');
      expect((await s.as(cust)(ASSIGN, { id: t.id, assignee: cust })).errors?.[0]?.extensions.code).toBe(
        'FORBIDDEN',
      );
      const assigned = await s.as('expert-1', ['support-l3'])<{ assignTicket: Ticket }>(ASSIGN, {
        id: t.id,
        assignee: 'expert-1',
      });
      expect(assigned.errors).toBeUndefined();
      expect(assigned.data!.assignTicket).toMatchObject({
        status: 'IN_PROGRESS',
        assignee: { kind: 'HUMAN', id: 'expert-1', agents: [] },
      });
      expect(assigned.data!.assignTicket.sla[2]!.firstResponseAt).not.toBeNull();
      const resolved = await s.as('expert-1', ['support-l3'])<{ resolveTicket: Ticket }>(RESOLVE, {
        id: t.id,
        resolution:
          'The tracking snippet was removed from the landing page; re-added it and backfilled the week.',
      });
      expect(resolved.errors).toBeUndefined();
      expect(resolved.data!.resolveTicket).toMatchObject({
        status: 'RESOLVED',
        tier: 'L3',
        resolution: { tier: 'L3', resolvedBy: { kind: 'HUMAN', id: 'expert-1' }, findings: [] },
      });
      const again = await s.as('expert-1', ['support-l3'])(RESOLVE, { id: t.id, resolution: 'Again' });
      expect(again.errors?.[0]?.extensions.code).toBe('CONFLICT');
      expect((await read(t.id, cust, ['customer'])).status).toBe('RESOLVED');
      await pollFor(() => changesOf(t.id).length === 5, { what: 'every change' });
      expect(changesOf(t.id)).toEqual(['OPENED', 'ESCALATED', 'ESCALATED', 'ASSIGNED', 'RESOLVED']);
      const queueEvents = () => s.queueEventsOf(t.id).map((e) => [e.tier, e.change, e.assignee]);
      await pollFor(() => queueEvents().length === 7, { what: 'the queue events' });
      expect(queueEvents()).toEqual([
        ['L1', 'ENTERED', 'wow-support'],
        ['L1', 'LEFT', 'wow-analytics'],
        ['L2', 'ENTERED', 'wow-analytics'],
        ['L2', 'LEFT', null],
        ['L3', 'ENTERED', null],
        ['L3', 'UPDATED', 'expert-1'],
        ['L3', 'LEFT', 'expert-1'],
      ]);
    });
  });

  describe('escalation rules', () => {
    it('lets the customer escalate their own ticket up, once per tier, and refuses same or lower tiers', async () => {
      const cust = customer();
      const t = await openAs(cust, {
        subject: 'Agent is slow',
        description: 'Replies take hours to arrive.',
      });
      const escalate = (toTier: string, reason = 'Your bot did not help me', who = cust) =>
        s.as(who)<{ escalateTicket: Ticket }>(ESCALATE, { id: t.id, reason, toTier });

      const down = await escalate('L1');
      expect(down.errors?.[0]).toMatchObject({
        message: 'This ticket is at L1 and tiers only go up: escalate it to L2 or L3, not L1',
        extensions: { code: 'INVALID_ESCALATION', reason: 'NOT_HIGHER', tier: 'L1', toTier: 'L1' },
      });
      expect((await escalate('L2', ' ')).errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');

      const up = await escalate('L2');
      expect(up.errors).toBeUndefined();
      expect(up.data!.escalateTicket).toMatchObject({
        tier: 'L2',
        status: 'IN_PROGRESS',
        customerEscalations: ['L1'],
      });
      expect(up.data!.escalateTicket.history.at(-1)).toMatchObject({
        change: 'ESCALATED',
        code: 'CUSTOMER_REQUEST',
        reason: 'Your bot did not help me',
        actor: { kind: 'CUSTOMER', id: cust },
      });
      // Nothing in the text points anywhere: every CoE agent looks at it.
      await pollFor(() => s.commandsOfTicket(t.id).length === 4, { what: 'L2 commands' });
      expect((await escalate('L2')).errors?.[0]?.extensions).toMatchObject({
        code: 'INVALID_ESCALATION',
        reason: 'NOT_HIGHER',
      });
      expect((await escalate('L1')).errors?.[0]?.extensions.code).toBe('INVALID_ESCALATION');

      // L1's answer arrives after the ticket moved on: recorded, but it decides nothing.
      await s.taskUpdate(l1(t.id), {
        status: 'COMPLETED',
        output: answerOutput({ resolved: true, confidence: 0.9, articleId: 'kb-plan-change' }),
      });
      await s.ticketWhen(t.id, (x) => x.work[0]!.status === 'COMPLETED', 'the late L1 answer');
      expect(await read(t.id)).toMatchObject({ tier: 'L2', status: 'IN_PROGRESS', resolution: null });

      // support-l1 cannot move an L2 ticket; the customer can, once from L2.
      const byL1 = await s.as('agent-l1', ['support-l1'])(ESCALATE, {
        id: t.id,
        reason: 'Needs an expert',
        toTier: 'L3',
      });
      expect(byL1.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const top = await escalate('L3', 'Still no answer after an hour');
      expect(top.data!.escalateTicket).toMatchObject({
        tier: 'L3',
        status: 'OPEN',
        customerEscalations: ['L1', 'L2'],
      });
      const beyond = await escalate('L3');
      expect(beyond.errors?.[0]).toMatchObject({
        message: 'This ticket is at L3, the highest tier; it cannot be escalated further',
        extensions: { code: 'INVALID_ESCALATION' },
      });
      await pollFor(() => s.eventsOf('support.ticket.escalated', t.id).length === 2, {
        what: 'two escalations',
      });
      expect(
        s.eventsOf('support.ticket.escalated', t.id).map((e) => [e.fromTier, e.toTier, e.code, e.actorKind]),
      ).toEqual([
        ['L1', 'L2', 'CUSTOMER_REQUEST', 'CUSTOMER'],
        ['L2', 'L3', 'CUSTOMER_REQUEST', 'CUSTOMER'],
      ]);
    });

    it('lets support escalate at its tier and staff anything; unknown tickets are NOT_FOUND', async () => {
      const t = await openAs(customer(), {
        subject: 'Help with login',
        description: 'I cannot log in to my account.',
      });
      const byL1 = await s.as('agent-l1', ['support-l1'])<{ escalateTicket: Ticket }>(ESCALATE, {
        id: t.id,
        reason: 'Looks like an account lock, needs security',
        toTier: 'L2',
      });
      expect(byL1.data!.escalateTicket.history.at(-1)).toMatchObject({
        code: 'SUPPORT_DECISION',
        actor: { kind: 'HUMAN', id: 'agent-l1' },
      });
      expect(byL1.data!.escalateTicket.assignee).toEqual({
        kind: 'AGENT',
        id: 'wow-security',
        agents: ['wow-security'],
      });
      const byOp = await s.as('op-1', ['operator'])<{ escalateTicket: Ticket }>(ESCALATE, {
        id: t.id,
        reason: 'VIP customer',
        toTier: 'L3',
      });
      expect(byOp.data!.escalateTicket.tier).toBe('L3');
      // The queue puts the most urgent first, then the longest waiting.
      const urgent = await openAs(customer(), {
        subject: 'Site down',
        description: 'Nothing loads',
        priority: 'URGENT',
      });
      await s.as('op-1', ['operator'])(ESCALATE, { id: urgent.id, reason: 'Outage', toTier: 'L3' });
      const queue = await s.as('expert-2', ['support-l3'])<{
        supportQueue: { id: string; priority: string }[];
      }>(QUEUE, { tier: 'L3', first: 100 });
      const order = queue.data!.supportQueue.map((q) => q.id);
      expect(order.indexOf(urgent.id)).toBeGreaterThanOrEqual(0);
      expect(order.indexOf(urgent.id)).toBeLessThan(order.indexOf(t.id));
      expect(queue.data!.supportQueue[0]!.priority).toBe('URGENT');
      const missing = await s.as('op-1', ['operator'])(ESCALATE, {
        id: 'tkt-nope',
        reason: 'why not',
        toTier: 'L3',
      });
      expect(missing.errors?.[0]).toMatchObject({
        message: 'Ticket "tkt-nope" does not exist',
        extensions: { code: 'NOT_FOUND' },
      });
    });
  });

  describe('privacy', () => {
    it("keeps a customer's ticket from other customers: read, escalate, comment and reopen are FORBIDDEN", async () => {
      const owner = customer();
      const other = customer();
      const t = await openAs(owner, {
        subject: 'Refund question',
        description: 'How long does a refund take?',
      });
      const asOther = s.as(other);
      const reading = await asOther<{ ticket: Ticket | null }>(TICKET, { id: t.id });
      expect(reading.errors?.[0]).toMatchObject({
        message: 'This ticket belongs to another customer; you can only see and act on your own tickets',
        extensions: { code: 'FORBIDDEN' },
      });
      expect(reading.data?.ticket ?? null).toBeNull();
      for (const [query, variables] of [
        [ESCALATE, { id: t.id, reason: 'Let me in', toTier: 'L2' }],
        [COMMENT, { id: t.id, body: 'Hello?' }],
        [REOPEN, { id: t.id }],
      ] as const)
        expect((await asOther(query, variables)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const theirs = await asOther<{ myTickets: { id: string }[] }>(`{ myTickets { id } }`);
      expect(theirs.data!.myTickets).toEqual([]);
      expect(
        (await asOther(`query($c: ID) { myTickets(customerId: $c) { id } }`, { c: owner })).errors?.[0]
          ?.extensions.code,
      ).toBe('FORBIDDEN');
      const mine = await s.as(owner)<{ myTickets: { id: string }[] }>(`{ myTickets { id } }`);
      expect(mine.data!.myTickets).toEqual([{ id: t.id }]);
      // Support reads it; nobody anonymous does.
      expect((await read(t.id, 'agent-l1', ['support-l1'])).id).toBe(t.id);
      expect((await s.as('anon', null)(TICKET, { id: t.id })).errors?.[0]?.extensions.code).toBe(
        'UNAUTHENTICATED',
      );
      // The entity is private too (the gateway resolves Ticket references through _entities).
      const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Ticket { id subject } } }`;
      const reps = { r: [{ __typename: 'Ticket', id: t.id }] };
      expect((await s.as(owner)<{ _entities: unknown[] }>(entities, reps)).data!._entities).toEqual([
        { id: t.id, subject: 'Refund question' },
      ]);
      expect((await asOther(entities, reps)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    });
  });

  describe('comments', () => {
    it('hides internal notes from the customer and stops the SLA clock while waiting on them', async () => {
      const cust = customer();
      const t = await openAs(cust, {
        subject: 'Invoice has the wrong GSTIN',
        description: 'Please fix my invoice.',
      });
      const asL3 = s.as('op-2', ['operator']);
      await asL3(ESCALATE, { id: t.id, reason: 'Billing needs a person', toTier: 'L3' });
      const note = await asL3<{ addTicketComment: Ticket }>(COMMENT, {
        id: t.id,
        body: 'Known billing bug #12',
        internal: true,
      });
      expect(note.errors).toBeUndefined();
      const ask = await asL3<{ addTicketComment: Ticket }>(COMMENT, {
        id: t.id,
        body: 'Which invoice number is it?',
        waiting: true,
      });
      expect(ask.data!.addTicketComment).toMatchObject({ status: 'WAITING_ON_CUSTOMER', slaDueAt: null });
      expect(ask.data!.addTicketComment.sla.at(-1)).toMatchObject({ paused: true });
      const seen = await read(t.id, cust, ['customer']);
      expect(seen.comments.map((c) => c.body)).toEqual(['Which invoice number is it?']);
      expect(seen.history.some((h) => h.reason === 'Known billing bug #12')).toBe(false);
      expect((await read(t.id)).comments.map((c) => [c.body, c.internal])).toEqual([
        ['Known billing bug #12', true],
        ['Which invoice number is it?', false],
      ]);
      const customerNote = await s.as(cust)(COMMENT, { id: t.id, body: 'secret', internal: true });
      expect(customerNote.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const answer = await s.as(cust)<{ addTicketComment: Ticket }>(COMMENT, {
        id: t.id,
        body: 'INV-2031-0042',
      });
      expect(answer.data!.addTicketComment.status).toBe('OPEN');
      expect(answer.data!.addTicketComment.slaDueAt).not.toBeNull();
      expect(answer.data!.addTicketComment.sla.at(-1)!.paused).toBe(false);
      expect((await s.as(cust)(COMMENT, { id: t.id, body: '' })).errors?.[0]?.extensions.code).toBe(
        'BAD_USER_INPUT',
      );
      // Every visible change is announced; the internal note is not.
      await pollFor(() => changesOf(t.id).length === 6, { what: 'the changes' });
      expect(changesOf(t.id)).toEqual([
        'OPENED',
        'ESCALATED',
        'COMMENTED',
        'WAITING_ON_CUSTOMER',
        'COMMENTED',
        'RESUMED',
      ]);
      expect(s.eventsOf('support.ticket.updated', t.id).map((e) => e.sequence)).toEqual([1, 2, 4, 5, 6, 7]);
    });
  });

  describe('input', () => {
    it('refuses ticket text over its limit with BAD_USER_INPUT naming the limit, and accepts text at the limit', async () => {
      const cust = customer();
      const limit = InputLimits.ticketTextChars;
      const over = await s.as(cust)(OPEN_TICKET, {
        input: { subject: 'Too much to say', description: 'd'.repeat(limit + 1) },
      });
      expect(over.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'description',
        maxLength: limit,
      });
      expect(over.errors?.[0]?.message).toMatch(`description has at most ${limit} characters`);
      const longSubject = await s.as(cust)(OPEN_TICKET, {
        input: { subject: 's'.repeat(InputLimits.nameChars + 1), description: 'Short enough' },
      });
      expect(longSubject.errors?.[0]?.extensions).toMatchObject({
        field: 'subject',
        maxLength: InputLimits.nameChars,
      });

      // At the limit (in characters of up to 4 bytes each), the ticket opens.
      const t = await openAs(cust, { subject: 'Just enough to say', description: '€'.repeat(limit) });
      expect(t).toMatchObject({ customerId: cust, tier: 'L1' });
      const comment = await s.as(cust)(COMMENT, { id: t.id, body: 'c'.repeat(limit + 1) });
      expect(comment.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'body',
        maxLength: limit,
      });
      expect((await s.as(cust)(COMMENT, { id: t.id, body: 'c'.repeat(limit) })).errors).toBeUndefined();
    });

    it('answers bad input with typed errors and keeps SLA overrides and other customers to staff', async () => {
      const cust = customer();
      const bad = await s.as(cust)(OPEN_TICKET, { input: { subject: 'x', description: 'y' } });
      expect(bad.errors?.[0]).toMatchObject({
        extensions: {
          code: 'BAD_USER_INPUT',
          fields: {
            subject: 'subject must say what is wrong (at least 3 characters)',
            description: 'description must say what is wrong (at least 3 characters)',
          },
        },
      });
      const sla = await s.as(cust)(OPEN_TICKET, {
        input: { subject: 'Fast please', description: 'Make it quick', slaSeconds: { l1: 1 } },
      });
      expect(sla.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const forOther = await s.as(cust)(OPEN_TICKET, {
        input: { subject: 'Hello there', description: 'For my friend', customerId: 'someone-else' },
      });
      expect(forOther.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const negative = await s.as('op-3', ['operator'])(OPEN_TICKET, {
        input: { subject: 'Drill', description: 'SLA drill', customerId: cust, slaSeconds: { l1: -1 } },
      });
      expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      const drill = await s.as('op-3', ['operator'])<{ openTicket: Ticket }>(OPEN_TICKET, {
        input: {
          subject: 'Drill',
          description: 'SLA drill',
          customerId: cust,
          slaSeconds: { l1: 0.5, l3: 30 },
          priority: 'URGENT',
        },
      });
      expect(drill.data!.openTicket).toMatchObject({ customerId: cust, priority: 'URGENT' });
      expect(drill.data!.openTicket.sla[0]!.targetSeconds).toBe(0.5);
      expect(drill.data!.openTicket.history[0]!.actor).toEqual({ kind: 'HUMAN', id: 'op-3' });
      expect(
        (await s.as('anon', null)(OPEN_TICKET, { input: { subject: 'abc', description: 'def' } })).errors?.[0]
          ?.extensions.code,
      ).toBe('UNAUTHENTICATED');
      expect(
        (await s.as('op-3', ['operator'])(ASSIGN, { id: drill.data!.openTicket.id, assignee: ' ' }))
          .errors?.[0]?.extensions.code,
      ).toBe('BAD_USER_INPUT');
      expect(await read('tkt-unknown')).toBeNull();
    });
  });

  describe('knowledge base', () => {
    const asOp = () => s.as('op-kb', ['operator']);

    it('is seeded with the platform help articles, searchable by anyone', async () => {
      const all = await s.as('anon', null)<{ knowledgeArticles: Article[] }>(ARTICLES, { first: 100 });
      const ids = all.data!.knowledgeArticles.map((a) => a.id);
      for (const id of [
        'kb-trial-cancel',
        'kb-refund',
        'kb-deliverables-kept',
        'kb-plans-pricing',
        'kb-rate-agent',
        'kb-api-keys',
      ])
        expect(ids).toContain(id);
      const refunds = await s.as('c', ['customer'])<{ knowledgeArticles: Article[] }>(ARTICLES, {
        query: 'refund for my subscription',
      });
      expect(refunds.data!.knowledgeArticles[0]).toMatchObject({
        id: 'kb-refund',
        status: 'PUBLISHED',
        updatedBy: 'seed',
      });
      expect(await s.models.articles.countDocuments({ updatedBy: 'seed' })).toBe(14);
    });

    it('is managed by operators: create, update, archive; customers cannot', async () => {
      const input = {
        title: 'Export your deliverables as PDF',
        body: 'Open a deliverable and choose Export, PDF. Exports include every revision.',
        tags: ['Deliverables', 'export', 'pdf', 'export'],
      };
      expect(
        (
          await s.as('c', ['customer'])(
            `mutation($i: CreateKnowledgeArticleInput!) { createKnowledgeArticle(input: $i) { id } }`,
            { i: input },
          )
        ).errors?.[0]?.extensions.code,
      ).toBe('FORBIDDEN');
      const create = `mutation($i: CreateKnowledgeArticleInput!) { createKnowledgeArticle(input: $i) { ${ARTICLE_FIELDS} } }`;
      const created = await asOp()<{ createKnowledgeArticle: Article }>(create, { i: input });
      expect(created.data!.createKnowledgeArticle).toEqual({
        id: 'kb-export-your-deliverables-as-pdf',
        ...input,
        tags: ['deliverables', 'export', 'pdf'],
        status: 'PUBLISHED',
        updatedBy: 'op-kb',
      });
      expect((await asOp()(create, { i: input })).errors?.[0]?.extensions.code).toBe('CONFLICT');
      expect(
        (await asOp()(create, { i: { title: 'x', body: 'short' } })).errors?.[0]?.extensions,
      ).toMatchObject({
        code: 'BAD_USER_INPUT',
        fields: { title: 'title needs at least 3 characters', body: 'body needs at least 10 characters' },
      });

      // A ticket about it gets the new article among L1's candidates.
      const t = await openAs(customer(), {
        subject: 'Export deliverable as PDF',
        description: 'How do I export a deliverable to PDF?',
      });
      const cmd = await command(l1(t.id));
      const sent = (cmd.spec.input as { details: { articles: { id: string }[] } }).details.articles;
      expect(sent[0]!.id).toBe('kb-export-your-deliverables-as-pdf');

      const update = `mutation($id: ID!, $i: UpdateKnowledgeArticleInput!) { updateKnowledgeArticle(id: $id, input: $i) { ${ARTICLE_FIELDS} } }`;
      const archived = await asOp()<{ updateKnowledgeArticle: Article }>(update, {
        id: 'kb-export-your-deliverables-as-pdf',
        i: { status: 'ARCHIVED', title: 'Export deliverables (old)' },
      });
      expect(archived.data!.updateKnowledgeArticle).toMatchObject({
        status: 'ARCHIVED',
        title: 'Export deliverables (old)',
      });
      expect(
        (await asOp()(update, { id: 'kb-missing', i: { status: 'DRAFT' } })).errors?.[0]?.extensions.code,
      ).toBe('NOT_FOUND');
      const one = `query($id: ID!) { knowledgeArticle(id: $id) { id status } }`;
      expect(
        (
          await s.as('c', ['customer'])<{ knowledgeArticle: unknown }>(one, {
            id: 'kb-export-your-deliverables-as-pdf',
          })
        ).data!.knowledgeArticle,
      ).toBeNull();
      expect(
        (await asOp()<{ knowledgeArticle: unknown }>(one, { id: 'kb-export-your-deliverables-as-pdf' })).data!
          .knowledgeArticle,
      ).toEqual({
        id: 'kb-export-your-deliverables-as-pdf',
        status: 'ARCHIVED',
      });
      const search = await s.as('c', ['customer'])<{ knowledgeArticles: Article[] }>(ARTICLES, {
        query: 'export pdf',
      });
      expect(search.data!.knowledgeArticles.map((a) => a.id)).not.toContain(
        'kb-export-your-deliverables-as-pdf',
      );
      const archivedList = await asOp()<{ knowledgeArticles: Article[] }>(ARTICLES, { status: 'ARCHIVED' });
      expect(archivedList.data!.knowledgeArticles.map((a) => a.id)).toEqual([
        'kb-export-your-deliverables-as-pdf',
      ]);
    });
  });

  describe('metrics', () => {
    it('computes per-tier figures beside the seed targets on a known set', async () => {
      const base = Date.parse('2040-06-01T00:00:00.000Z');
      const at = (s: number) => new Date(base + s * 1000);
      const visit = (
        tier: string,
        v: { in: number; first?: number; end?: number; outcome?: string; due: number; breach?: number },
      ) => ({
        tier,
        enteredAt: at(v.in),
        targetMs: v.due * 1000,
        dueAt: at(v.in + v.due),
        firstResponseAt: v.first === undefined ? null : at(v.in + v.first),
        endedAt: v.end === undefined ? null : at(v.in + v.end),
        outcome: v.outcome ?? null,
        breachedAt: v.breach === undefined ? null : at(v.in + v.breach),
        pausedAt: null,
        pausedMs: 0,
      });
      // Ten tickets at L1: 8 resolved within a minute, 1 escalated by the agent, 1 by an SLA breach;
      // both go on to L2, one resolved there in 10 minutes, one sent to L3 and resolved in an hour.
      const docs = [
        ...Array.from({ length: 8 }, (_, i) => ({
          sla: [visit('L1', { in: i * 100, first: 5 + i, end: 5 + i, outcome: 'RESOLVED', due: 60 })],
        })),
        {
          sla: [
            visit('L1', { in: 900, first: 10, end: 10, outcome: 'ESCALATED', due: 60 }),
            visit('L2', { in: 910, first: 120, end: 600, outcome: 'RESOLVED', due: 900 }),
          ],
        },
        {
          sla: [
            visit('L1', { in: 1000, end: 60, outcome: 'ESCALATED', due: 60, breach: 60 }),
            visit('L2', { in: 1060, first: 200, end: 300, outcome: 'ESCALATED', due: 900 }),
            visit('L3', { in: 1360, first: 600, end: 3600, outcome: 'RESOLVED', due: 7200 }),
          ],
        },
      ].map((d, i) => ({
        _id: `tkt-metrics-${i}`,
        customerId: 'metrics',
        createdAt: d.sla[0]!.enteredAt,
        ...d,
      }));
      // Raw stays, straight into the collection (the driver's default typing wants ObjectId ids).
      await (s.models.tickets.collection as unknown as mongo.Collection<{ _id: string }>).insertMany(docs);

      const query = `query($since: DateTime, $until: DateTime) { supportMetrics(since: $since, until: $until) {
        since until tickets tiers { tier handled resolved escalated open resolutionRate
          firstResponse { count medianSeconds p95Seconds } resolution { count medianSeconds p95Seconds }
          slaBreaches slaCompliance configuredSlaSeconds target { resolutionRate withinSeconds }
          resolvedWithinTargetRate meetsTarget } } }`;
      const window = { since: '2040-06-01T00:00:00.000Z', until: '2040-06-02T00:00:00.000Z' };
      expect((await s.as('c', ['customer'])(query, window)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const result = await s.as('lead', ['support-l2'])<{
        supportMetrics: { tickets: number; since: string; tiers: Record<string, unknown>[] };
      }>(query, window);
      expect(result.errors).toBeUndefined();
      const m = result.data!.supportMetrics;
      expect(m.tickets).toBe(10);
      expect(iso(m.since)).toBe('2040-06-01T00:00:00.000Z');
      expect(m.tiers).toEqual([
        {
          tier: 'L1',
          handled: 10,
          resolved: 8,
          escalated: 2,
          open: 0,
          resolutionRate: 0.8,
          firstResponse: { count: 9, medianSeconds: 9, p95Seconds: 11.6 },
          resolution: { count: 8, medianSeconds: 8.5, p95Seconds: 11.65 },
          slaBreaches: 1,
          slaCompliance: 0.9,
          configuredSlaSeconds: 60,
          target: { resolutionRate: 0.9, withinSeconds: 60 },
          resolvedWithinTargetRate: 0.8,
          meetsTarget: false,
        },
        {
          tier: 'L2',
          handled: 2,
          resolved: 1,
          escalated: 1,
          open: 0,
          resolutionRate: 0.5,
          firstResponse: { count: 2, medianSeconds: 160, p95Seconds: 196 },
          resolution: { count: 1, medianSeconds: 600, p95Seconds: 600 },
          slaBreaches: 0,
          slaCompliance: 1,
          configuredSlaSeconds: 900,
          target: { resolutionRate: 0.8, withinSeconds: 900 },
          resolvedWithinTargetRate: 0.5,
          meetsTarget: false,
        },
        {
          tier: 'L3',
          handled: 1,
          resolved: 1,
          escalated: 0,
          open: 0,
          resolutionRate: 1,
          firstResponse: { count: 1, medianSeconds: 600, p95Seconds: 600 },
          resolution: { count: 1, medianSeconds: 3600, p95Seconds: 3600 },
          slaBreaches: 0,
          slaCompliance: 1,
          configuredSlaSeconds: 7200,
          target: { resolutionRate: 1, withinSeconds: 7200 },
          resolvedWithinTargetRate: 1,
          meetsTarget: true,
        },
      ]);
      const bad = await s.as('lead', ['support-l2'])(query, { since: window.until, until: window.since });
      expect(bad.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    });
  });
});
