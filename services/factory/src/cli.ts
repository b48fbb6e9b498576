import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatProblems, parseDefinition } from './domain/definition';
import type { GeneratedFile } from './domain/generator';
import { GENERATED_DIR, generateAgentModule, generateIndex } from './domain/generator';

const ROOT = path.resolve(__dirname, '../../..');
const USAGE = `usage: npm run factory -- <command> <file.yaml>... | --all
  validate  check definitions; problems are printed as file:line:column path: message
  generate  validate, then write each agent module to ${GENERATED_DIR}/<handle>/ and refresh the index
  --all     every definition in agents/definitions`;

function definitionFiles(args: string[]): string[] {
  if (args.includes('--all')) {
    const dir = path.join(ROOT, 'agents/definitions');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => path.join(dir, f));
  }
  return args.filter((a) => !a.startsWith('--')).map((a) => path.resolve(process.cwd(), a));
}

function write(files: GeneratedFile[]) {
  for (const f of files) {
    const target = path.join(ROOT, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    const unchanged = existsSync(target) && readFileSync(target, 'utf8') === f.content;
    if (!unchanged) writeFileSync(target, f.content);
    console.log(`${unchanged ? 'unchanged' : 'wrote    '} ${f.path}  sha256 ${f.sha256.slice(0, 12)}`);
  }
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  const files = definitionFiles(rest);
  if ((command !== 'validate' && command !== 'generate') || files.length === 0) {
    console.log(USAGE);
    return command ? 2 : 0;
  }
  let failed = 0;
  const handles: string[] = [];
  for (const file of files) {
    const shown = path.relative(process.cwd(), file);
    if (!existsSync(file)) {
      console.error(`${shown}: no such file`);
      failed++;
      continue;
    }
    const result = parseDefinition(readFileSync(file, 'utf8'));
    if (!result.ok) {
      for (const line of formatProblems(result.problems, shown)) console.error(line);
      failed++;
      continue;
    }
    if (command === 'validate') {
      console.log(`${shown}: valid (${result.definition.handle} ${result.definition.version})`);
      continue;
    }
    write(generateAgentModule(result.definition, result.sha256));
    handles.push(result.definition.handle);
  }
  if (command === 'generate' && handles.length > 0) {
    const dir = path.join(ROOT, GENERATED_DIR);
    const existing = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    write([generateIndex([...existing, ...handles])]);
  }
  if (failed > 0) console.error(`${failed} of ${files.length} definition(s) invalid`);
  return failed > 0 ? 1 : 0;
}

process.exit(main(process.argv.slice(2)));
