import { pollFor, uniqueName } from '@waooaw/shared/testing';
import { parseConfig } from '@waooaw/shared';
import { environmentSchema } from '../server';
import type { Harness, Ticket } from './harness';
import {
  answerOutput,
  ASSIGN,
  COMMENT,
  diagnosisOutput,
  ESCALATE,
  iso,
  OPEN_TICKET,
  REOPEN,
  RESOLVE,
  startSupport,
  TICKET,
} from './harness';
import { testClock } from '@waooaw/shared/testing';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** SLA deadlines, breaches, restarts and the reopen window, on a clock the test moves. */
describe('support: SLA time', () => {
  let s: Harness;
  const clock = testClock(new Date('2030-05-01T00:00:00.000Z'));
  beforeAll(async () => {
    s = await startSupport({ clock });
  });
  afterAll(() => s.stop());

  const open = async (
    who: string,
    input: Record<string, unknown>,
    roles: Parameters<Harness['as']>[1] = ['customer'],
  ) => {
    const result = await s.as(who, roles)<{ openTicket: Ticket }>(OPEN_TICKET, { input });
    expect(result.errors).toBeUndefined();
    return result.data!.openTicket;
  };
  const read = async (id: string) =>
    (await s.as('op', ['operator'])<{ ticket: Ticket }>(TICKET, { id })).data!.ticket;

  it('escalates a ticket whose SLA passed with SLA_BREACH, tier by tier, across a restart', async () => {
    clock.set(new Date('2030-05-01T00:00:00.000Z'));
    const cust = uniqueName('cust');
    const t = await open(cust, {
      subject: 'Report is missing data',
      description: 'The weekly report has no data for Monday.',
    });
    expect(iso(t.slaDueAt)).toBe('2030-05-01T00:01:00.000Z');

    clock.advance(59 * SECOND);
    await s.sweep();
    expect((await read(t.id)).tier).toBe('L1');
    clock.advance(SECOND);
    expect((await s.sweep()).breached).toBeGreaterThanOrEqual(1);
    const atL2 = await read(t.id);
    expect(atL2).toMatchObject({
      tier: 'L2',
      status: 'IN_PROGRESS',
      slaBreached: true,
      breachedTiers: ['L1'],
    });
    expect(atL2.sla[0]).toMatchObject({ breached: true, outcome: 'ESCALATED' });
    expect(iso(atL2.sla[0]!.breachedAt)).toBe('2030-05-01T00:01:00.000Z');
    expect(atL2.history.at(-1)).toMatchObject({
      change: 'ESCALATED',
      code: 'SLA_BREACH',
      actor: { kind: 'SYSTEM', id: 'support-sla' },
      fromTier: 'L1',
      toTier: 'L2',
      reason:
        'SLA_BREACH: L1 did not resolve the ticket within its SLA of 1 min (due 2030-05-01T00:01:00.000Z)',
    });
    expect(iso(atL2.slaDueAt)).toBe('2030-05-01T00:16:00.000Z');
    await pollFor(() => s.commandsFor(`support.${t.id}.l2.analytics`).length === 1, {
      what: 'the L2 diagnosis',
    });
    await pollFor(() => s.eventsOf('support.ticket.escalated', t.id).length === 1, {
      what: 'the escalation event',
    });
    expect(s.eventsOf('support.ticket.escalated', t.id)[0]).toMatchObject({
      fromTier: 'L1',
      toTier: 'L2',
      code: 'SLA_BREACH',
      actorKind: 'SYSTEM',
    });

    // WowSupport's answer comes too late: recorded, the ticket stays at L2.
    await s.taskUpdate(`support.${t.id}.l1`, {
      status: 'COMPLETED',
      output: answerOutput({ resolved: true, confidence: 0.9, articleId: 'kb-refund' }),
    });
    await s.ticketWhen(t.id, (x) => x.work[0]!.status === 'COMPLETED', 'the late answer');
    expect((await read(t.id)).tier).toBe('L2');

    // The deadline is data: a new process on the same database enforces it.
    await s.restart();
    clock.advance(15 * MINUTE);
    expect((await s.sweep()).breached).toBeGreaterThanOrEqual(1);
    const atL3 = await read(t.id);
    expect(atL3).toMatchObject({ tier: 'L3', status: 'OPEN', breachedTiers: ['L1', 'L2'] });
    expect(atL3.history.at(-1)).toMatchObject({ code: 'SLA_BREACH', fromTier: 'L2', toTier: 'L3' });
    expect(iso(atL3.slaDueAt)).toBe('2030-05-01T02:16:00.000Z');

    // L3 has nowhere to go: the breach is flagged and announced, once.
    clock.advance(2 * HOUR);
    expect((await s.sweep()).breached).toBeGreaterThanOrEqual(1);
    const flagged = await read(t.id);
    expect(flagged).toMatchObject({
      tier: 'L3',
      status: 'OPEN',
      slaDueAt: null,
      breachedTiers: ['L1', 'L2', 'L3'],
    });
    expect(flagged.history.at(-1)).toMatchObject({
      change: 'SLA_BREACHED',
      code: 'SLA_BREACH',
      fromTier: 'L3',
      toTier: 'L3',
    });
    clock.advance(HOUR);
    await s.sweep();
    expect((await read(t.id)).history.filter((h) => h.code === 'SLA_BREACH')).toHaveLength(3);
    await pollFor(() => s.eventsOf('support.ticket.updated', t.id).length === 4, { what: 'every change' });
    expect(s.eventsOf('support.ticket.updated', t.id).map((e) => [e.change, e.code, e.slaBreached])).toEqual([
      ['OPENED', null, false],
      ['ESCALATED', 'SLA_BREACH', true],
      ['ESCALATED', 'SLA_BREACH', true],
      ['SLA_BREACHED', 'SLA_BREACH', true],
    ]);
    // The L3 queue hears of the breach too (its deadline is gone).
    await pollFor(() => s.queueEventsOf(t.id).length === 6, { what: 'the queue events' });
    expect(s.queueEventsOf(t.id).map((e) => [e.tier, e.change, e.slaDueAt])).toEqual([
      ['L1', 'ENTERED', '2030-05-01T00:01:00.000Z'],
      ['L1', 'LEFT', '2030-05-01T00:16:00.000Z'],
      ['L2', 'ENTERED', '2030-05-01T00:16:00.000Z'],
      ['L2', 'LEFT', '2030-05-01T02:16:00.000Z'],
      ['L3', 'ENTERED', '2030-05-01T02:16:00.000Z'],
      ['L3', 'UPDATED', null],
    ]);
  });

  it('honours a very short SLA set on one ticket by an operator', async () => {
    clock.set(new Date('2030-06-01T00:00:00.000Z'));
    const cust = uniqueName('cust');
    const t = await open(
      'op-drill',
      { subject: 'Drill ticket', description: 'An SLA drill', customerId: cust, slaSeconds: { l1: 0.4 } },
      ['operator'],
    );
    expect(t.sla[0]!.targetSeconds).toBe(0.4);
    expect(iso(t.slaDueAt)).toBe('2030-06-01T00:00:00.400Z');
    clock.advance(400);
    await s.sweep();
    const moved = await read(t.id);
    expect(moved).toMatchObject({ tier: 'L2', customerId: cust });
    expect(moved.history.at(-1)!.code).toBe('SLA_BREACH');
    // The other tiers keep the configured SLA.
    expect(moved.sla[1]!.targetSeconds).toBe(900);
  });

  it('stops the clock while waiting on the customer', async () => {
    clock.set(new Date('2030-07-01T00:00:00.000Z'));
    const cust = uniqueName('cust');
    const t = await open(cust, {
      subject: 'Wrong invoice',
      description: 'My invoice shows the wrong GSTIN.',
    });
    const expert = s.as('expert-7', ['support-l3']);
    await s.as('op', ['operator'])(ESCALATE, { id: t.id, reason: 'billing expert', toTier: 'L3' });
    await expert(ASSIGN, { id: t.id, assignee: 'expert-7' });
    clock.advance(10 * MINUTE);
    await expert(COMMENT, { id: t.id, body: 'Which GSTIN should it show?', waiting: true });
    clock.advance(5 * HOUR);
    await s.sweep();
    expect(await read(t.id)).toMatchObject({ tier: 'L3', status: 'WAITING_ON_CUSTOMER', slaBreached: false });
    await s.as(cust)(COMMENT, { id: t.id, body: '27AAAPL1234C1ZV' });
    const resumed = await read(t.id);
    expect(resumed).toMatchObject({ status: 'IN_PROGRESS', slaBreached: false });
    expect(resumed.sla.at(-1)).toMatchObject({ paused: false, pausedSeconds: 5 * 3600 });
    expect(iso(resumed.slaDueAt)).toBe('2030-07-01T07:00:00.000Z');
    clock.advance(HOUR + 49 * MINUTE);
    await s.sweep();
    expect((await read(t.id)).slaBreached).toBe(false);
    clock.advance(MINUTE);
    await s.sweep();
    expect((await read(t.id)).breachedTiers).toEqual(['L3']);
  });

  it('lets the customer reopen within 7 days (same tier, new SLA), refuses after and closes the ticket', async () => {
    clock.set(new Date('2030-08-01T00:00:00.000Z'));
    const cust = uniqueName('cust');
    const t = await open(cust, {
      subject: 'Webhook 401',
      description: 'Webhooks return 401 since the key rotation.',
    });
    await s.taskUpdate(`support.${t.id}.l1`, {
      status: 'COMPLETED',
      output: answerOutput({ resolved: false, confidence: 0.3, route: 'diagnosis.integration' }),
    });
    await s.ticketWhen(t.id, (x) => x.tier === 'L2', 'L2');
    for (const area of ['security', 'integration'])
      await s.taskUpdate(`support.${t.id}.l2.${area}`, {
        status: 'COMPLETED',
        output: diagnosisOutput(area, [{ cause: `${area} cause`, fix: `${area} fix` }]),
      });
    await s.ticketWhen(t.id, (x) => x.status === 'RESOLVED', 'the L2 resolution');
    expect(iso((await read(t.id)).reopenableUntil)).toBe('2030-08-08T00:00:00.000Z');

    clock.advance(6 * DAY);
    expect((await s.as(uniqueName('cust'))(REOPEN, { id: t.id })).errors?.[0]?.extensions.code).toBe(
      'FORBIDDEN',
    );
    const reopened = await s.as(cust)<{ reopenTicket: Ticket }>(REOPEN, {
      id: t.id,
      reason: 'It broke again today',
    });
    expect(reopened.errors).toBeUndefined();
    expect(reopened.data!.reopenTicket).toMatchObject({
      tier: 'L2',
      status: 'OPEN',
      resolution: null,
      assignee: null,
      reopenableUntil: null,
    });
    expect(reopened.data!.reopenTicket.history.at(-1)).toMatchObject({
      change: 'REOPENED',
      reason: 'It broke again today',
      actor: { kind: 'CUSTOMER', id: cust },
    });
    expect(reopened.data!.reopenTicket.sla.at(-1)).toMatchObject({
      tier: 'L2',
      targetSeconds: 900,
      outcome: null,
    });
    expect(iso(reopened.data!.reopenTicket.slaDueAt)).toBe('2030-08-07T00:15:00.000Z');
    expect((await s.as(cust)(REOPEN, { id: t.id })).errors?.[0]?.extensions).toMatchObject({
      code: 'TICKET_NOT_REOPENABLE',
    });

    const resolved = await s.as('l2-person', ['support-l2'])<{ resolveTicket: Ticket }>(RESOLVE, {
      id: t.id,
      resolution: 'Rotated the signing secret for the customer',
    });
    expect(resolved.data!.resolveTicket.resolution).toMatchObject({
      tier: 'L2',
      resolvedBy: { kind: 'HUMAN', id: 'l2-person' },
    });
    clock.advance(7 * DAY + SECOND);
    const late = await s.as(cust)(REOPEN, { id: t.id });
    expect(late.errors?.[0]).toMatchObject({
      message: 'This ticket could be reopened until 2030-08-14T00:00:00.000Z; open a new ticket instead',
      extensions: { code: 'TICKET_NOT_REOPENABLE', reopenableUntil: '2030-08-14T00:00:00.000Z' },
    });
    expect((await s.sweep()).closed).toBeGreaterThanOrEqual(1);
    const closed = await read(t.id);
    expect(closed.status).toBe('CLOSED');
    expect(iso(closed.closedAt)).toBe('2030-08-14T00:00:01.000Z');
    expect((await s.as(cust)(COMMENT, { id: t.id, body: 'hello?' })).errors?.[0]?.extensions.code).toBe(
      'CONFLICT',
    );
    await pollFor(() => s.eventsOf('support.ticket.resolved', t.id).length === 2, {
      what: 'two resolutions',
    });
    expect(
      s.eventsOf('support.ticket.resolved', t.id).map((e) => [e.tier, e.actorKind, e.durationMs]),
    ).toEqual([
      ['L2', 'AGENT', 0],
      ['L2', 'HUMAN', 0],
    ]);
  });

  it("keeps seeded articles once, and operators' edits, across restarts", async () => {
    await s.as('op', ['operator'])(
      `mutation { updateKnowledgeArticle(id: "kb-refund", input: { body: "Refunds take 3 working days now." }) { id } }`,
    );
    await s.restart();
    expect(await s.models.articles.countDocuments({ createdBy: 'seed' })).toBe(14);
    expect((await s.models.articles.findById('kb-refund').lean())!.body).toBe(
      'Refunds take 3 working days now.',
    );
  });
});

/** The service's own timer, on the wall clock: a ticket with a very short SLA escalates itself. */
describe('support: the SLA sweeper', () => {
  let s: Harness;
  beforeAll(async () => {
    s = await startSupport({ config: { SUPPORT_SWEEP_INTERVAL_MS: 100, SUPPORT_SLA_L2_SECONDS: 0.3 } });
  });
  afterAll(() => s.stop());

  it('escalates with SLA_BREACH by itself, without anyone calling the sweep', async () => {
    const t = (
      await s.as('op', ['operator'])<{ openTicket: Ticket }>(OPEN_TICKET, {
        input: {
          subject: 'Slow drill',
          description: 'Nobody answers',
          customerId: uniqueName('cust'),
          slaSeconds: { l1: 0.3 },
        },
      })
    ).data!.openTicket;
    const escalated = await s.ticketWhen(t.id, (x) => x.tier === 'L3', 'two SLA breaches');
    expect(escalated.history.filter((h) => h.code === 'SLA_BREACH').map((h) => h.toTier)).toEqual([
      'L2',
      'L3',
    ]);
  });

  it('reads fractional SLA seconds from the environment', () => {
    const config = parseConfig(environmentSchema, {
      SUPPORT_SLA_L1_SECONDS: '0.5',
      SUPPORT_SLA_L3_SECONDS: '1.25',
    });
    expect([
      config.SUPPORT_SLA_L1_SECONDS,
      config.SUPPORT_SLA_L2_SECONDS,
      config.SUPPORT_SLA_L3_SECONDS,
    ]).toEqual([0.5, 900, 1.25]);
    expect(() => parseConfig(environmentSchema, { SUPPORT_SLA_L2_SECONDS: '0' })).toThrow(
      /SUPPORT_SLA_L2_SECONDS/,
    );
  });
});
