import type { AgentManifest } from '../../manifest';
import { runSkill, searchManifests } from '..';
import type { SkillContext, TaskStats } from '../types';
import { SkillInputError, SkillUnavailableError } from '../types';
import { workProblem } from './math';
import { analysePage } from './seo';
import { scoreBant } from './sales';
import { HELP_CENTRE, rankArticles } from './platform';
import { testCapability, testManifest } from './__tests__/fixtures';

const manifest = (handle: string, names: string[], extra: Partial<AgentManifest> = {}) =>
  testManifest(
    names.map((n) => testCapability(n)),
    { handle, name: handle, ...extra },
  );

const context: SkillContext = { now: new Date('2026-01-01T00:00:00.000Z') };

describe('math', () => {
  it('solves 3x + 5 = 20 with steps', () => {
    const w = workProblem('Solve 3x + 5 = 20')!;
    expect(w.answer).toBe('x = 5');
    expect(w.steps).toEqual([
      'Simplify each side: 3x + 5 = 20',
      'Subtract 5 on both sides: 3x = 15',
      'Divide both sides by 3: x = 15 ÷ 3 = 5',
    ]);
  });
  it('keeps non-integer answers exact', () => {
    expect(workProblem('2x + 3 = 4')!.answer).toBe('x = 1/2 (about 0.5)');
    expect(workProblem('5x + 2 = 3x - 8')!.answer).toBe('x = -5');
  });
  it('respects precedence and parentheses', () => {
    expect(workProblem('12 * (3 + 4) - 5')!.answer).toBe('79');
    expect(workProblem('2 + 3 * 4')!.answer).toBe('14');
    expect(workProblem('2^3^2')!.answer).toBe('512');
    expect(workProblem('How do I add 3/4 and 2/3?')!.answer).toBe('17/12 (about 1.4167)');
  });
  it('solves quadratics and enclosed areas exactly', () => {
    expect(workProblem('x^2 - 5x + 6 = 0')!.answer).toBe('x = 2 or x = 3');
    expect(workProblem('area bounded by y = x^2 and y = 2x')!.answer).toBe('4/3 (about 1.3333) square units');
  });
  it('renders a solution through the math mentor', async () => {
    const m = manifest('wow-math-mentor', ['tutoring.solve-problem'], {
      kind: 'CUSTOMER',
      template: 'education',
    });
    const r = await runSkill(m, 'tutoring.solve-problem', { request: 'Solve 2x - 4 = 10' }, context);
    expect(r.content).toMatch(/^# .+\n\n.+\n\n## /);
    expect(r.content).toContain('**x = 7**');
  });
});

describe('seo', () => {
  const text =
    '# Steel Water Bottle\n\n## Why steel\n\nOur steel water bottle keeps water cold. A steel bottle lasts for years. ' +
    'Buy the water bottle today.';
  it('measures keyword density', () => {
    const a = analysePage(text, ['water bottle', 'steel']);
    expect(a.wordCount).toBe(23);
    expect(a.keywords[0]).toEqual({ keyword: 'water bottle', count: 3, density: 26.1, verdict: 'stuffed' });
    expect(a.keywords[1]).toMatchObject({ keyword: 'steel', count: 4 });
    expect(a.title.length).toBeLessThanOrEqual(60);
    expect(a.metaDescription.length).toBeLessThanOrEqual(155);
    expect(a.headings).toMatchObject({ h1: 1, h2: 1, problems: [] });
  });
  it('falls back to top terms without stop-words', () => {
    expect(analysePage('the cat and the cat and a dog', []).keywords.map((k) => k.keyword)).toEqual([
      'cat',
      'dog',
    ]);
  });
});

describe('sales', () => {
  it('tiers BANT scores', () => {
    expect(
      scoreBant({
        budget: 'approved 10 lakh',
        authority: 'CFO',
        need: 'urgent audit findings',
        timeline: 'this quarter',
      }),
    ).toMatchObject({ total: 100, tier: 'hot' });
    expect(
      scoreBant({
        budget: 'exploring',
        authority: 'finance manager',
        need: 'manual invoicing is slow',
        timeline: 'in 5 months',
      }).tier,
    ).toBe('warm');
    expect(scoreBant({ authority: 'intern' })).toMatchObject({ total: 5, tier: 'cold' });
  });
  it('scores a lead from details with reasons', async () => {
    const m = manifest('wow-pipe-sdr', ['sales.qualify-lead'], { kind: 'CUSTOMER', template: 'sales' });
    const r = await runSkill(
      m,
      'sales.qualify-lead',
      {
        request: 'Qualify',
        details: { lead: { budget: 'approved', authority: 'CEO', need: 'urgent', timeline: 'asap' } },
      },
      context,
    );
    expect(r.summary).toBe('BANT 100/100, hot');
    await expect(
      runSkill(m, 'sales.qualify-lead', { request: 'Qualify', details: { lead: 'x' } }, context),
    ).rejects.toThrow(SkillInputError);
  });
});

describe('support', () => {
  it('picks the right article with more confidence than the rest', () => {
    const ranked = rankArticles('How do I cancel my trial before it converts?', HELP_CENTRE);
    expect(ranked[0]!.article.id).toBe('kb-trial-cancel');
    expect(ranked[0]!.confidence).toBeGreaterThan(ranked[1]!.confidence);
  });
  it('has low confidence when nothing matches and escalates', async () => {
    const m = manifest('wow-support', ['support.answer-ticket']);
    const r = await runSkill(
      m,
      'support.answer-ticket',
      { request: 'Quantum entanglement of llamas' },
      context,
    );
    const body = JSON.parse(r.content) as { resolved: boolean; confidence: number };
    expect(body.resolved).toBe(false);
    expect(body.confidence).toBeLessThan(0.2);
  });
  it('uses the articles given', async () => {
    const m = manifest('wow-support', ['support.answer-ticket']);
    const articles = [
      {
        id: 'a',
        title: 'Reset your password',
        body: 'Use forgot password on the login page.',
        tags: ['password'],
      },
      { id: 'b', title: 'Export invoices', body: 'Billing, invoices, export.', tags: ['billing'] },
    ];
    const r = await runSkill(
      m,
      'support.answer-ticket',
      { request: 'How do I reset my password?', details: { articles } },
      context,
    );
    expect(JSON.parse(r.content)).toMatchObject({ resolved: true, articlesUsed: ['a'] });
  });
});

describe('catalogue search and analytics', () => {
  const seo = manifest('wow-rank', ['seo.audit-site'], {
    specialization: 'SEO for e-commerce stores',
    tags: ['seo'],
  });
  const tutor = manifest('wow-math', ['tutoring.solve-problem'], {
    specialization: 'Mathematics tutoring',
    tags: ['math'],
  });
  it('ranks manifests by overlap, ties by handle', () => {
    expect(searchManifests([tutor, seo], 'SEO for my online store', 5)[0]!.handle).toBe('wow-rank');
    expect(searchManifests([tutor, seo], 'mathematics tutoring', 1).map((h) => h.handle)).toEqual([
      'wow-math',
    ]);
    const twin = { ...seo, handle: 'wow-a-rank' };
    expect(searchManifests([seo, twin], 'seo', 5).map((h) => h.handle)).toEqual(['wow-a-rank', 'wow-rank']);
  });
  it('searches the catalogue through the platform, or says it is unavailable', async () => {
    const m = manifest('wow-search', ['search.semantic-query']);
    const ask = { request: 'Find an agent for SEO' };
    await expect(runSkill(m, 'search.semantic-query', ask, context)).rejects.toThrow(SkillUnavailableError);
    const searchCatalogue = jest.fn((q: string, limit: number) =>
      Promise.resolve(searchManifests([seo, tutor], q, limit)),
    );
    const r = await runSkill(m, 'search.semantic-query', ask, { ...context, platform: { searchCatalogue } });
    expect(searchCatalogue).toHaveBeenCalledWith('Find an agent for SEO', 5);
    expect(JSON.parse(r.content)).toMatchObject({ index: 'catalogue', results: [{ handle: 'wow-rank' }] });
  });
  it('aggregates task stats through taskStats', async () => {
    const m = manifest('wow-analytics', ['analytics.build-report']);
    const stats: TaskStats = {
      completed: 90,
      failed: 10,
      averageMs: 1200,
      p95Ms: 4000,
      byCapability: [{ capability: 'seo.audit-site', completed: 40, failed: 10 }],
    };
    const taskStats = jest.fn(() => Promise.resolve(stats));
    const r = await runSkill(
      m,
      'analytics.build-report',
      { request: 'Weekly report for wow-rank-commerce' },
      { ...context, platform: { taskStats } },
    );
    expect(taskStats).toHaveBeenCalledWith({ agentHandle: 'wow-rank-commerce' });
    expect(r.summary).toBe('90/100 tasks succeeded (90%)');
    expect(JSON.parse(r.content)).toMatchObject({
      figures: { successRate: 90 },
      worstCapabilities: [{ failureRate: 20 }],
    });
  });
  it('needs the factory to create an agent', async () => {
    const m = manifest('wow-agent-factory', ['factory.create-agent']);
    await expect(runSkill(m, 'factory.create-agent', { yaml: 'handle: x' }, context)).rejects.toThrow(
      SkillUnavailableError,
    );
  });
});

describe('inputs', () => {
  it('rejects bad input with SkillInputError', async () => {
    const m = manifest('wow-support', ['support.answer-ticket']);
    await expect(runSkill(m, 'support.answer-ticket', 42, context)).rejects.toThrow(SkillInputError);
  });
  it('gives a different, correct answer for a different input', async () => {
    const m = manifest('wow-help-homework', ['homework.explain-solution'], {
      kind: 'CUSTOMER',
      template: 'education',
    });
    const a = await runSkill(m, 'homework.explain-solution', 'What is 7 * 8 - 6?', context);
    const b = await runSkill(m, 'homework.explain-solution', 'What is 7 * (8 - 6)?', context);
    expect(a.summary).toBe('7 * 8 - 6: 50');
    expect(b.summary).toBe('7 * (8 - 6): 14');
  });
});
