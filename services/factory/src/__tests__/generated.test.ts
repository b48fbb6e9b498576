import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatProblems, parseDefinition } from '../domain/definition';
import { generateAgentModule, generateIndex } from '../domain/generator';

const ROOT = path.resolve(__dirname, '../../../..');
const definitionsDir = path.join(ROOT, 'agents/definitions');
const definitionFiles = readdirSync(definitionsDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('the agent catalogue and its generated modules', () => {
  it('has the 14 platform CoE agents and 19 customer agents (7 marketing, 7 education, 5 sales)', () => {
    const definitions = definitionFiles.map((f) => {
      const result = parseDefinition(readFileSync(path.join(definitionsDir, f), 'utf8'));
      if (!result.ok) throw new Error(formatProblems(result.problems, f).join('\n'));
      expect(`${result.definition.handle}.yaml`).toBe(f);
      return result.definition;
    });
    const count = (pick: (d: (typeof definitions)[number]) => string) =>
      definitions.reduce<Record<string, number>>(
        (acc, d) => ({ ...acc, [pick(d)]: (acc[pick(d)] ?? 0) + 1 }),
        {},
      );
    expect(count((d) => d.kind)).toEqual({ PLATFORM: 14, CUSTOMER: 19 });
    expect(count((d) => d.category)).toEqual({ PLATFORM: 14, MARKETING: 7, EDUCATION: 7, SALES: 5 });
    for (const d of definitions.filter((x) => x.kind === 'CUSTOMER')) {
      expect(d.pricing?.trialDays).toBe(7);
      for (const plan of d.pricing!.plans) {
        expect(plan.monthlyPrice).toBeGreaterThanOrEqual(8000);
        expect(plan.monthlyPrice).toBeLessThanOrEqual(18000);
      }
      expect(d.capabilities[0]!.name).toBe('trial.first-deliverable');
    }
  });

  it('regenerates every definition byte for byte as committed (run `npm run factory -- generate --all` after a change)', () => {
    const stale: string[] = [];
    const handles: string[] = [];
    for (const f of definitionFiles) {
      const source = readFileSync(path.join(definitionsDir, f), 'utf8');
      const result = parseDefinition(source);
      if (!result.ok) throw new Error(f);
      handles.push(result.definition.handle);
      const files = generateAgentModule(result.definition, result.sha256);
      expect(generateAgentModule(result.definition, result.sha256)).toEqual(files); // deterministic
      for (const file of files) {
        const onDisk = path.join(ROOT, file.path);
        if (!existsSync(onDisk) || readFileSync(onDisk, 'utf8') !== file.content) stale.push(file.path);
      }
    }
    const index = generateIndex(handles);
    if (readFileSync(path.join(ROOT, index.path), 'utf8') !== index.content) stale.push(index.path);
    const generatedDirs = readdirSync(path.join(ROOT, 'agents/generated'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(generatedDirs).toEqual([...handles].sort()); // no module without a definition
    expect(stale).toEqual([]);
  });
});
