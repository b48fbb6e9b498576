import type { PlatformError, TaskOutput } from '@waooaw/shared';
import type { TicketState } from '../models/ticket';
import type { MachineConfig } from './machine';
import {
  assign,
  breach,
  close,
  comment,
  escalate,
  l1TaskId,
  openTicket,
  recordWork,
  reopen,
  resolve,
  ticketIdOfTask,
} from './machine';

const T0 = Date.parse('2031-03-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);
const config: MachineConfig = { l1MinConfidence: 0.45, reopenWindowMs: 7 * 86_400_000 };
const customer = { kind: 'CUSTOMER' as const, id: 'cust-1' };
const human = { kind: 'HUMAN' as const, id: 'expert-1' };

const open = (text = 'Our dashboard shows zero leads', slaMs = { L1: 60_000, L2: 900_000, L3: 7_200_000 }) =>
  openTicket(
    {
      id: 'tkt-1',
      customerId: 'cust-1',
      subject: text,
      description: text,
      priority: 'NORMAL',
      agentId: null,
      trialId: null,
      slaTargetsMs: slaMs,
      actor: customer,
    },
    at(0),
  );

const json = (content: Record<string, unknown>): TaskOutput => ({
  format: 'application/json',
  title: 't',
  content: JSON.stringify(content),
  summary: 's',
});
const notConfident = json({
  resolved: false,
  confidence: 0.2,
  answer: null,
  articlesUsed: [],
  escalation: { reason: 'no article reached confidence 0.45', route: 'diagnosis.analytics' },
});
const done = (taskId: string, output: TaskOutput) => ({
  taskId,
  status: 'COMPLETED' as const,
  output,
  error: null,
});

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return [(err as PlatformError).extensions.code, (err as PlatformError).extensions.reason];
  }
  return 'no error';
}

const changes = (t: TicketState) => t.history.map((h) => h.change);

describe('ticket state machine', () => {
  it('opens at L1 with WowSupport working and the L1 deadline set', () => {
    const t = open();
    expect(t).toMatchObject({
      tier: 'L1',
      status: 'IN_PROGRESS',
      assignee: { kind: 'AGENT', id: 'wow-support' },
    });
    expect(t.work.map((w) => [w.id, w.capability, w.agentHandle])).toEqual([
      ['support.tkt-1.l1', 'support.answer-ticket', 'wow-support'],
    ]);
    expect(t.slaDueAt).toEqual(at(60));
    expect(changes(t)).toEqual(['OPENED']);
    expect(ticketIdOfTask(l1TaskId('tkt-1'))).toBe('tkt-1');
    expect(ticketIdOfTask('support.tkt-1.l2.security')).toBe('tkt-1');
    expect(ticketIdOfTask('trial.x.first')).toBeNull();
  });

  it('resolves at L1 with the article cited when WowSupport is confident', () => {
    const t = open('How do I cancel my trial?');
    const answer = json({
      resolved: true,
      confidence: 0.7,
      answer: 'Use Cancel trial.',
      articlesUsed: ['kb-trial-cancel'],
    });
    expect(recordWork(t, done(l1TaskId('tkt-1'), answer), at(2), config)).toBe(true);
    expect(t).toMatchObject({
      status: 'RESOLVED',
      tier: 'L1',
      slaDueAt: null,
      firstResponseAt: at(2),
      resolvedAt: at(2),
    });
    expect(t.resolution).toMatchObject({
      tier: 'L1',
      confidence: 0.7,
      articleIds: ['kb-trial-cancel'],
      resolvedBy: { kind: 'AGENT', id: 'wow-support' },
      summary: 'Use Cancel trial.\n\nSource: kb-trial-cancel',
    });
    expect(t.sla[0]).toMatchObject({ outcome: 'RESOLVED', endedAt: at(2), firstResponseAt: at(2) });
    expect(t.reopenableUntil).toEqual(at(2 + 7 * 86_400));
    // A redelivered answer changes nothing.
    expect(recordWork(t, done(l1TaskId('tkt-1'), answer), at(3), config)).toBe(false);
  });

  it('escalates to L2 when not confident and starts the diagnoses the ticket needs', () => {
    const t = open('Our dashboard shows zero leads');
    recordWork(t, done(l1TaskId('tkt-1'), notConfident), at(3), config);
    expect(t).toMatchObject({ tier: 'L2', status: 'IN_PROGRESS', slaDueAt: at(903) });
    const escalation = t.history.at(-1)!;
    expect(escalation).toMatchObject({
      change: 'ESCALATED',
      code: 'LOW_CONFIDENCE',
      fromTier: 'L1',
      toTier: 'L2',
    });
    expect(escalation.reason).toContain('confidence 0.2');
    expect(t.work.filter((w) => w.tier === 'L2').map((w) => w.id)).toEqual(['support.tkt-1.l2.analytics']);
    expect(t.assignee).toEqual({ kind: 'AGENT', id: 'wow-analytics', agents: ['wow-analytics'] });
  });

  it('goes to L3 when the diagnosis finds nothing, and resolves when it does', () => {
    const t = open('Our dashboard shows zero leads');
    recordWork(t, done(l1TaskId('tkt-1'), notConfident), at(1), config);
    recordWork(
      t,
      { taskId: 'support.tkt-1.l2.analytics', status: 'WORKING', output: null, error: null },
      at(2),
      config,
    );
    expect(t.tier).toBe('L2');
    recordWork(
      t,
      done(
        'support.tkt-1.l2.analytics',
        json({ likelyCauses: [], escalate: true, escalateTo: 'review.escalation' }),
      ),
      at(30),
      config,
    );
    expect(t).toMatchObject({ tier: 'L3', status: 'OPEN', assignee: null, slaDueAt: at(7230) });
    expect(t.history.at(-1)).toMatchObject({
      code: 'NEEDS_EXPERT',
      actor: { kind: 'AGENT', id: 'wow-analytics' },
    });

    const u = open('Our dashboard shows zero leads');
    recordWork(u, done(l1TaskId('tkt-1'), notConfident), at(1), config);
    recordWork(
      u,
      done(
        'support.tkt-1.l2.analytics',
        json({ likelyCauses: [{ cause: 'Lag', fix: 'Backfill' }], escalate: false }),
      ),
      at(40),
      config,
    );
    expect(u).toMatchObject({ tier: 'L2', status: 'RESOLVED' });
    expect(u.resolution!.findings).toEqual([
      { agentHandle: 'wow-analytics', capability: 'diagnosis.analytics', cause: 'Lag', fix: 'Backfill' },
    ]);
  });

  it('only lets tiers go up, only while unresolved, and a customer once per tier', () => {
    const t = open();
    const up = (toTier: 'L1' | 'L2' | 'L3', byCustomer = true) =>
      codeOf(() =>
        escalate(
          t,
          { toTier, code: 'CUSTOMER_REQUEST', reason: 'please', actor: customer, byCustomer },
          at(5),
        ),
      );
    expect(up('L1')).toEqual(['INVALID_ESCALATION', 'NOT_HIGHER']);
    expect(up('L2')).toBe('no error');
    expect(t.customerEscalations).toEqual(['L1']);
    expect(up('L2')).toEqual(['INVALID_ESCALATION', 'NOT_HIGHER']);
    // Back at a tier the customer already escalated from (only possible through data): refused.
    t.customerEscalations.push('L2');
    expect(up('L3')).toEqual(['INVALID_ESCALATION', 'ALREADY_REQUESTED']);
    expect(up('L3', false)).toBe('no error');
    expect(up('L3')).toEqual(['INVALID_ESCALATION', 'NOT_HIGHER']);
    resolve(t, { summary: 'Fixed it', actor: human }, at(9), config);
    expect(
      codeOf(() =>
        escalate(
          t,
          { toTier: 'L3', code: 'SUPPORT_DECISION', reason: 'x', actor: human, byCustomer: false },
          at(10),
        ),
      ),
    ).toEqual(['INVALID_ESCALATION', 'TICKET_RESOLVED']);
  });

  it('ignores an agent answer for a tier the ticket has left', () => {
    const t = open();
    escalate(
      t,
      { toTier: 'L3', code: 'SUPPORT_DECISION', reason: 'vip', actor: human, byCustomer: false },
      at(5),
    );
    const confident = json({ resolved: true, confidence: 0.9, answer: 'a', articlesUsed: ['kb'] });
    expect(recordWork(t, done(l1TaskId('tkt-1'), confident), at(6), config)).toBe(true);
    expect(t).toMatchObject({ tier: 'L3', status: 'OPEN', resolution: null });
    expect(t.work[0]!.status).toBe('COMPLETED');
  });

  it('escalates on an SLA breach, and flags L3 which has nowhere to go', () => {
    const t = open('zzz', { L1: 1_000, L2: 2_000, L3: 3_000 });
    expect(breach(t, at(0.5))).toBe(false);
    expect(breach(t, at(1))).toBe(true);
    expect(t.history.at(-1)).toMatchObject({
      change: 'ESCALATED',
      code: 'SLA_BREACH',
      actor: { kind: 'SYSTEM', id: 'support-sla' },
      fromTier: 'L1',
      toTier: 'L2',
    });
    expect(t.history.at(-1)!.reason).toMatch(
      /^SLA_BREACH: L1 did not resolve the ticket within its SLA of 1 s/,
    );
    expect(t.sla[0]!.breachedAt).toEqual(at(1));
    expect(breach(t, at(3))).toBe(true);
    expect(t.tier).toBe('L3');
    expect(breach(t, at(6))).toBe(true);
    expect(t).toMatchObject({ tier: 'L3', status: 'OPEN', slaDueAt: null });
    expect(t.history.at(-1)).toMatchObject({
      change: 'SLA_BREACHED',
      code: 'SLA_BREACH',
      fromTier: 'L3',
      toTier: 'L3',
    });
    expect(breach(t, at(100))).toBe(false);
    expect(t.sla.map((v) => v.breachedAt !== null)).toEqual([true, true, true]);
  });

  it('stops the SLA clock while waiting on the customer and moves the deadline on after', () => {
    const t = open();
    escalate(
      t,
      { toTier: 'L3', code: 'SUPPORT_DECISION', reason: 'vip', actor: human, byCustomer: false },
      at(0),
    );
    assign(t, 'expert-1', human, at(60));
    expect(t).toMatchObject({ status: 'IN_PROGRESS', assignee: { kind: 'HUMAN', id: 'expert-1' } });
    expect(t.sla[1]!.firstResponseAt).toEqual(at(60));
    comment(
      t,
      {
        id: 'c1',
        author: human,
        body: 'Which account?',
        internal: false,
        waitingOnCustomer: true,
        byCustomer: false,
      },
      at(100),
    );
    expect(t).toMatchObject({ status: 'WAITING_ON_CUSTOMER', slaDueAt: null });
    expect(breach(t, at(99_999))).toBe(false);
    comment(
      t,
      {
        id: 'c2',
        author: customer,
        body: 'Account 42',
        internal: false,
        waitingOnCustomer: false,
        byCustomer: true,
      },
      at(1100),
    );
    expect(t.status).toBe('IN_PROGRESS');
    expect(t.slaDueAt).toEqual(at(7200 + 1000));
    expect(changes(t).slice(-4)).toEqual(['COMMENTED', 'WAITING_ON_CUSTOMER', 'COMMENTED', 'RESUMED']);
    expect(
      codeOf(() =>
        comment(
          t,
          {
            id: 'c3',
            author: customer,
            body: 'x',
            internal: true,
            waitingOnCustomer: false,
            byCustomer: true,
          },
          at(1200),
        ),
      ),
    ).toEqual(['FORBIDDEN', undefined]);
  });

  it('reopens within the window at the tier that resolved it, then closes after it', () => {
    const t = open();
    escalate(
      t,
      { toTier: 'L2', code: 'SUPPORT_DECISION', reason: 'x', actor: human, byCustomer: false },
      at(0),
    );
    resolve(t, { summary: 'Done', actor: human }, at(10), config);
    reopen(t, customer, 'still broken', at(6 * 86_400));
    expect(t).toMatchObject({ tier: 'L2', status: 'OPEN', resolution: null, assignee: null });
    expect(t.sla.at(-1)).toMatchObject({ tier: 'L2', enteredAt: at(6 * 86_400), outcome: null });
    expect(t.slaDueAt).toEqual(at(6 * 86_400 + 900));
    resolve(t, { summary: 'Done again', actor: human }, at(6 * 86_400 + 60), config);
    const late = 6 * 86_400 + 60 + 7 * 86_400 + 1;
    expect(codeOf(() => reopen(t, customer, null, at(late)))).toEqual(['TICKET_NOT_REOPENABLE', undefined]);
    expect(close(t, at(late - 2))).toBe(false);
    expect(close(t, at(late))).toBe(true);
    expect(t.status).toBe('CLOSED');
    expect(codeOf(() => reopen(t, customer, null, at(late)))).toEqual(['TICKET_NOT_REOPENABLE', undefined]);
  });
});
