import type { WorkRecord } from '../models/ticket';
import {
  chooseDiagnoses,
  decideL1,
  decideL2,
  parseAnswer,
  rankArticles,
  selectArticles,
  terms,
} from './routing';

const work = (over: Partial<WorkRecord>): WorkRecord => ({
  id: 'support.t.l2.security',
  tier: 'L2',
  capability: 'diagnosis.security',
  agentHandle: 'wow-security',
  status: 'COMPLETED',
  submittedAt: new Date(0),
  finishedAt: new Date(1),
  summary: null,
  result: null,
  error: null,
  findings: [],
  ...over,
});

const found = { likelyCauses: [{ cause: 'Old key', fix: 'Rotate it' }], escalate: false, escalateTo: null };
const nothing = { likelyCauses: [], escalate: true, escalateTo: 'review.escalation' };

describe('L2 routing: which diagnosis agents a ticket needs', () => {
  const areas = (text: string, route?: string) => chooseDiagnoses(text, route).map((d) => d.area);

  it('picks the areas whose words appear, in a fixed order', () => {
    expect(areas('Webhook to our CRM returns 401 since yesterday')).toEqual(['security', 'integration']);
    expect(areas('The dashboard numbers are wrong')).toEqual(['analytics']);
    expect(areas('I cannot log in after the password reset')).toEqual(['security']);
    expect(areas('API sync times out and the report is missing data')).toEqual(['integration', 'analytics']);
  });

  it("adds the area L1's triage suggested, and asks every agent when nothing matched", () => {
    expect(areas('Something odd happened', 'diagnosis.analytics')).toEqual(['analytics']);
    expect(areas('Something odd happened')).toEqual(['security', 'integration', 'analytics']);
    expect(areas('Something odd happened', 'support.answer-ticket')).toHaveLength(3);
  });

  it('pins each area to its CoE agent', () => {
    expect(chooseDiagnoses('login webhook dashboard').map((d) => [d.capability, d.agentHandle])).toEqual([
      ['diagnosis.security', 'wow-security'],
      ['diagnosis.integration', 'wow-integration'],
      ['diagnosis.analytics', 'wow-analytics'],
    ]);
  });
});

describe('L1 decision', () => {
  const answer = (result: Record<string, unknown>) =>
    decideL1({ status: 'COMPLETED', result, error: null }, 0.45);

  it('resolves a confident answer with the article it used', () => {
    expect(
      answer({
        resolved: true,
        confidence: 0.8,
        answer: 'Cancel it.',
        articlesUsed: ['kb-trial-cancel'],
        escalation: null,
      }),
    ).toEqual({ kind: 'resolve', answer: 'Cancel it.', articleIds: ['kb-trial-cancel'], confidence: 0.8 });
  });

  it('escalates when not confident, with the confidence and the agent reason', () => {
    const d = answer({
      resolved: false,
      confidence: 0.21,
      answer: null,
      articlesUsed: [],
      escalation: { reason: 'no article reached confidence 0.45', route: 'diagnosis.analytics' },
    });
    expect(d).toMatchObject({ kind: 'escalate', code: 'LOW_CONFIDENCE', route: 'diagnosis.analytics' });
    expect(d.kind === 'escalate' && d.reason).toBe(
      'WowSupport was not confident enough to answer (confidence 0.21, needs 0.45): no article reached confidence 0.45',
    );
  });

  it('escalates a "resolved" answer below the configured minimum, and failed or unreadable work', () => {
    expect(answer({ resolved: true, confidence: 0.3, answer: 'x', articlesUsed: ['a'] }).kind).toBe(
      'escalate',
    );
    expect(decideL1({ status: 'FAILED', result: null, error: 'timed out' }, 0.45)).toMatchObject({
      code: 'AGENT_FAILED',
      reason: 'WowSupport could not answer (task FAILED: timed out)',
    });
    expect(answer({ confidence: 'high' })).toMatchObject({ kind: 'escalate', code: 'AGENT_FAILED' });
    expect(parseAnswer(null)).toBeNull();
  });
});

describe('L2 decision (resolve only when every agent completed and found a cause)', () => {
  it('resolves with every finding', () => {
    const d = decideL2([
      work({ result: found }),
      work({ agentHandle: 'wow-integration', capability: 'diagnosis.integration', result: found }),
    ]);
    expect(d.kind).toBe('resolve');
    if (d.kind !== 'resolve') return;
    expect(d.findings).toEqual([
      { agentHandle: 'wow-security', capability: 'diagnosis.security', cause: 'Old key', fix: 'Rotate it' },
      {
        agentHandle: 'wow-integration',
        capability: 'diagnosis.integration',
        cause: 'Old key',
        fix: 'Rotate it',
      },
    ]);
    expect(d.summary).toBe(
      'Diagnosed by the CoE agents:\n- wow-security: Old key. Fix: Rotate it\n- wow-integration: Old key. Fix: Rotate it',
    );
  });

  it('escalates when one agent asks for it, keeping the findings of the others', () => {
    const d = decideL2([work({ result: found }), work({ agentHandle: 'wow-analytics', result: nothing })]);
    expect(d).toMatchObject({
      kind: 'escalate',
      code: 'NEEDS_EXPERT',
      reason: 'L2 could not resolve it: wow-analytics: no likely cause found, asks for escalation',
    });
    expect(d.findings).toHaveLength(1);
  });

  it('escalates as AGENT_FAILED when a task did not complete', () => {
    expect(
      decideL2([
        work({ result: found }),
        work({ agentHandle: 'wow-x', status: 'REJECTED', error: 'no instance' }),
      ]),
    ).toMatchObject({
      code: 'AGENT_FAILED',
      reason: 'L2 could not resolve it: wow-x: task REJECTED (no instance)',
    });
    expect(decideL2([])).toMatchObject({ kind: 'escalate' });
  });
});

describe('article matching', () => {
  const articles = [
    { _id: 'kb-b', title: 'Cancel a trial', body: 'Open My agents and cancel.', tags: ['trial', 'cancel'] },
    {
      _id: 'kb-a',
      title: 'Download GST invoices',
      body: 'Invoices are under Billing.',
      tags: ['gst', 'billing'],
    },
    { _id: 'kb-c', title: 'Rate an agent', body: 'Give stars.', tags: ['rating'] },
  ];

  it('stems and drops stop words', () => {
    expect([...terms('How do I cancel my trials?')]).toEqual(['cancel', 'trial']);
  });

  it('ranks title, tags and body matches, ties by id, deterministically', () => {
    expect(rankArticles('cancel my trial', articles).map((r) => [r.article._id, r.score])).toEqual([
      ['kb-b', 11],
      ['kb-a', 0],
      ['kb-c', 0],
    ]);
  });

  it('sends L1 the best candidates only, bodies capped', () => {
    expect(selectArticles('gst invoice', articles, 1, 10)).toEqual([
      { id: 'kb-a', title: 'Download GST invoices', body: 'Invoices a', tags: ['gst', 'billing'] },
    ]);
  });
});
