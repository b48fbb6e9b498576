import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatProblems, parseDefinition } from './definition';

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
});
