import { readFileSync } from 'node:fs';
import path from 'node:path';
import { billionLaughs } from '../__tests__/fixtures/yaml-bombs';
import { formatProblems, MAX_DEFINITION_BYTES, parseDefinition } from './definition';

const valid = readFileSync(path.join(__dirname, '../__tests__/fixtures/valid.yaml'), 'utf8');
const problemsOf = (source: string) => {
  const result = parseDefinition(source);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
};

describe('agent definition parsing', () => {
  it('accepts a valid definition, applies defaults and hashes the source', () => {
    const result = parseDefinition(valid);
    if (!result.ok) throw new Error(formatProblems(result.problems).join('\n'));
    expect(result.definition.capabilities[1]).toMatchObject({
      name: 'content.write-article',
      inputModes: ['application/json'],
      tags: [],
    });
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(parseDefinition(valid)).toEqual(result);
  });

  it('points at a bad semver with its path, line and column', () => {
    const source = valid.replace('version: 2.0.0', 'version: two');
    expect(problemsOf(source)).toEqual([
      {
        path: 'capabilities[2].version',
        line: 40,
        column: 14,
        message: 'not a semver version (expected e.g. 1.2.0)',
      },
    ]);
    expect(formatProblems(problemsOf(source), 'agent.yaml')).toEqual([
      'agent.yaml:40:14 capabilities[2].version: not a semver version (expected e.g. 1.2.0)',
    ]);
  });

  it('reports every problem at once: unknown field, missing field, bad enum, bad pattern', () => {
    const source = valid
      .replace('tier: STANDARD', 'tier: GOLD')
      .replace('handle: test-content-agent', 'handle: Test Agent')
      .replace('specialization: Content marketing for clinics\n', '')
      .replace('tags: [content]', 'tags: [content]\ncolour: blue');
    const problems = problemsOf(source);
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'specialization: is required',
      'handle: must be kebab-case: lower-case letters, digits and single dashes (e.g. wow-vision-prime)',
      'tier: must be one of: PREMIUM, STANDARD, BUDGET',
      'colour: is not a known field',
    ]);
    expect(problems.find((p) => p.path === 'colour')).toMatchObject({ line: 11, column: 1 });
  });

  it('requires pricing for customer agents and platform templates for platform agents', () => {
    const noPricing = valid.replace(/pricing:\n( {2}.*\n| {4}.*\n)+/, '');
    expect(problemsOf(noPricing).map((p) => `${p.path}: ${p.message}`)).toEqual(['pricing: is required']);
    const platform = valid.replace('kind: CUSTOMER', 'kind: PLATFORM');
    expect(problemsOf(platform).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'category: must be "PLATFORM"',
      'template: must be "platform-coe"',
    ]);
  });

  it('refuses duplicate capabilities and reserved handler names', () => {
    const source = valid
      .replace('content.plan-calendar', 'content.write-article')
      .replace('handler: planCalendar', 'handler: delete');
    expect(problemsOf(source).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'capabilities[2].name: duplicates capabilities[1].name (content.write-article)',
      'capabilities[2].handler: "delete" is a reserved word; choose another handler name',
    ]);
  });

  it('reports malformed YAML with its position', () => {
    const [problem] = problemsOf('handle: x\n  name: [unclosed\n');
    expect(problem!.message).toMatch(/^YAML syntax/);
    expect(problem!.line).toBeGreaterThan(0);
    expect(problemsOf('- just\n- a list\n')[0]!.message).toContain('mapping');
    expect(problemsOf('handle: a\nhandle: b\n')[0]!.message).toMatch(/YAML syntax/);
  });

  it('refuses a YAML alias bomb, and a long list aliased many times, at once and naming the alias limit', () => {
    const started = Date.now();
    // 9 levels of 9 aliases each: 9^9 (387 million) values once expanded.
    expect(problemsOf(billionLaughs(9))).toEqual([
      {
        path: '',
        line: 1,
        column: 1,
        message: expect.stringContaining('(the alias limit)') as string,
      },
    ]);
    // Within yaml's alias count, but 90 copies of a 4,000-item list.
    const multiplied = `tags: &t [${'x,'.repeat(4000)}x]\nmetadata:\n${Array.from({ length: 90 }, (_, i) => `  k${i}: *t`).join('\n')}\n`;
    expect(problemsOf(multiplied)[0]!.message).toMatch(/more than 50000 values .*\(the alias limit\)/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(problemsOf('a: *nowhere\n')[0]!.message).toMatch(/^YAML/);
  });

  it('refuses a definition larger than the accepted size before parsing it', () => {
    const big = `${valid}\n# ${'x'.repeat(MAX_DEFINITION_BYTES)}\n`;
    expect(problemsOf(big)[0]!.message).toMatch(/more than the 32768 accepted/);
  });
});
