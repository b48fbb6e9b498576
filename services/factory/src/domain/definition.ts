import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import semver from 'semver';
import type { Node } from 'yaml';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { ErrorCode, InputLimits, PlatformError } from '@waooaw/shared';

export const TEMPLATE_IDS = ['platform-coe', 'marketing', 'education', 'sales'] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

export interface CapabilityDefinition {
  name: string;
  version: string;
  description: string;
  tags: string[];
  inputModes: string[];
  outputModes: string[];
  examples: string[];
  handler: string;
}

export interface PricingPlan {
  id: string;
  name: string;
  monthlyPrice: number;
  features: string[];
}

/** A validated agent definition (schemas/agent-definition.schema.json), defaults applied. */
export interface AgentDefinition {
  schemaVersion: 1;
  handle: string;
  name: string;
  version: string;
  description: string;
  kind: 'PLATFORM' | 'CUSTOMER';
  category: 'PLATFORM' | 'MARKETING' | 'EDUCATION' | 'SALES';
  specialization: string;
  industries: string[];
  tier: 'PREMIUM' | 'STANDARD' | 'BUDGET';
  tags: string[];
  template: TemplateId;
  persona: { tagline: string; statusLine: string; avatar?: string };
  pricing?: { currency: 'INR'; trialDays: number; plans: PricingPlan[] };
  runtime: { concurrency: number; timeoutMs: number; weight: number };
  capabilities: CapabilityDefinition[];
  metadata: Record<string, unknown>;
}

/** One thing wrong with a definition, pointing at where it is in the YAML. */
export interface DefinitionProblem {
  /** `capabilities[2].version`; empty for the document itself. */
  path: string;
  line: number;
  column: number;
  message: string;
}

export type ParseResult =
  { ok: true; definition: AgentDefinition; sha256: string } | { ok: false; problems: DefinitionProblem[] };

const SCHEMA_FILE = path.resolve(__dirname, '../../../../schemas/agent-definition.schema.json');

/** Messages for pattern failures, which ajv would only report as a regular expression. */
const PATTERN_MESSAGES: Record<string, string> = {
  handle: 'must be kebab-case: lower-case letters, digits and single dashes (e.g. wow-vision-prime)',
  name: 'must be a dotted lower-case name such as content.write-article',
  handler: 'must be a camelCase function name such as writeArticle',
  inputModes: 'must be a MIME type such as application/json',
  outputModes: 'must be a MIME type such as text/markdown',
  industries: 'must be lower-case kebab-case (e.g. e-commerce)',
  tags: 'must be lower-case kebab-case',
  id: 'must be lower-case kebab-case (e.g. starter)',
};

const RESERVED = new Set([
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'default',
  'delete',
  'do',
  'else',
  'export',
  'extends',
  'finally',
  'for',
  'function',
  'if',
  'import',
  'in',
  'instanceof',
  'new',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  'yield',
  'let',
  'static',
  'enum',
  'await',
  'implements',
  'package',
  'protected',
  'interface',
  'private',
  'public',
  'handlers',
  'manifest',
]);

let validator: ReturnType<Ajv2020['compile']> | undefined;
function validate() {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });
    ajv.addFormat('semver', { type: 'string', validate: (v: string) => semver.valid(v) === v });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  }
  return validator;
}

type Segment = string | number;

/** `capabilities[2].version` */
export function formatPath(segments: Segment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

const pointerSegments = (pointer: string): Segment[] =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

/** The YAML node at a path (or, for the key of a field, its key node), for line and column. */
function locate(root: Node | null, segments: Segment[], wantKey: boolean): Node | null {
  let node: Node | null = root;
  for (let i = 0; i < segments.length && node; i++) {
    const segment = segments[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === segment);
      if (!pair) return node;
      node =
        wantKey && i === segments.length - 1
          ? (pair.key as Node)
          : ((pair.value as Node | null) ?? (pair.key as Node));
    } else if (isSeq(node) && typeof segment === 'number') {
      node = (node.items[segment] as Node | undefined) ?? node;
      if (node === undefined) return null;
    } else {
      return node;
    }
  }
  return node;
}

function describe(error: ErrorObject): { segments: Segment[]; message: string; key: boolean } | null {
  const base = pointerSegments(error.instancePath);
  const last = base.at(-1);
  const field = typeof last === 'number' ? base.at(-2) : last;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if':
      return null; // the failing `then` branch reports the actual problem
    case 'required':
      return { segments: [...base, String(params.missingProperty)], message: 'is required', key: false };
    case 'additionalProperties':
      return {
        segments: [...base, String(params.additionalProperty)],
        message: 'is not a known field',
        key: true,
      };
    case 'type':
      // YAML reads `version: 2.0` as a number; say what is expected rather than "must be string".
      if (field === 'version')
        return { segments: base, message: 'not a semver version (expected e.g. 1.2.0)', key: false };
      return { segments: base, message: `must be ${String(params.type)}`, key: false };
    case 'format':
      return {
        segments: base,
        message:
          params.format === 'semver'
            ? 'not a semver version (expected e.g. 1.2.0)'
            : `must be a ${String(params.format)}`,
        key: false,
      };
    case 'enum':
      return {
        segments: base,
        message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`,
        key: false,
      };
    case 'const':
      return { segments: base, message: `must be ${JSON.stringify(params.allowedValue)}`, key: false };
    case 'pattern':
      return {
        segments: base,
        message:
          (typeof field === 'string' && PATTERN_MESSAGES[field]) || `must match ${String(params.pattern)}`,
        key: false,
      };
    default:
      return { segments: base, message: error.message ?? 'is invalid', key: false };
  }
}

/** Checks the schema cannot express: unique capability names and plan ids, usable handler names. */
function semanticProblems(definition: AgentDefinition): { segments: Segment[]; message: string }[] {
  const problems: { segments: Segment[]; message: string }[] = [];
  const seen = new Map<string, number>();
  definition.capabilities.forEach((c, i) => {
    const first = seen.get(c.name);
    if (first !== undefined)
      problems.push({
        segments: ['capabilities', i, 'name'],
        message: `duplicates capabilities[${first}].name (${c.name})`,
      });
    else seen.set(c.name, i);
    if (RESERVED.has(c.handler))
      problems.push({
        segments: ['capabilities', i, 'handler'],
        message: `"${c.handler}" is a reserved word; choose another handler name`,
      });
  });
  const plans = new Map<string, number>();
  definition.pricing?.plans.forEach((p, i) => {
    const first = plans.get(p.id);
    if (first !== undefined)
      problems.push({
        segments: ['pricing', 'plans', i, 'id'],
        message: `duplicates pricing.plans[${first}].id (${p.id})`,
      });
    else plans.set(p.id, i);
  });
  return problems;
}

/**
 * How many nodes aliases may expand to in one definition (yaml's maxAliasCount, counted as it
 * does: each use of an anchor times the aliases inside it). A definition needs few if any; the
 * limit refuses a "billion laughs" document, whose aliases of aliases would expand exponentially.
 */
export const MAX_ALIAS_COUNT = 100;

/** The largest definition accepted (the API refuses larger YAML before it gets here). */
export const MAX_DEFINITION_BYTES = InputLimits.agentYamlBytes;

/**
 * Values a definition may hold once aliases are expanded. Within the alias limit, a long list
 * aliased many times still multiplies, and schema validation walks every copy.
 */
export const MAX_DEFINITION_VALUES = 50_000;

/** Whether `data` holds more than `budget` values (aliases counted each time they are used). */
function exceedsValues(data: unknown, budget: number): boolean {
  const stack: unknown[] = [data];
  let count = 0;
  while (stack.length > 0) {
    const value = stack.pop();
    if (++count > budget) return true;
    if (Array.isArray(value)) stack.push(...(value as unknown[]));
    else if (typeof value === 'object' && value !== null)
      stack.push(...Object.values(value as Record<string, unknown>));
  }
  return false;
}

const wholeDocument = (message: string): ParseResult => ({
  ok: false,
  problems: [{ path: '', line: 1, column: 1, message }],
});

/** Parses and validates a YAML agent definition, reporting every problem with its line, column and path. */
export function parseDefinition(source: string): ParseResult {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > MAX_DEFINITION_BYTES)
    return wholeDocument(
      `the definition is ${bytes} bytes, more than the ${MAX_DEFINITION_BYTES} accepted; shorten it`,
    );
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: '',
        ...position(e.pos[0]),
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // yaml throws a ReferenceError past the alias limit (and for an alias that resolves nowhere).
    if (!(err instanceof ReferenceError)) throw err;
    return wholeDocument(
      /excessive alias count/i.test(err.message)
        ? `YAML aliases are used more than ${MAX_ALIAS_COUNT} times, counting aliases inside aliases (the alias limit); write the repeated values out or use fewer aliases`
        : `YAML alias: ${err.message}`,
    );
  }
  if (exceedsValues(data, MAX_DEFINITION_VALUES))
    return wholeDocument(
      `the definition holds more than ${MAX_DEFINITION_VALUES} values once its YAML aliases are expanded (the alias limit); use fewer aliases or shorter lists`,
    );
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return {
      ok: false,
      problems: [
        {
          path: '',
          line: 1,
          column: 1,
          message: 'the definition must be a YAML mapping of fields (handle, name, version, ...)',
        },
      ],
    };
  }
  const check = validate();
  const at = (segments: Segment[], message: string, key: boolean): DefinitionProblem => {
    const node = locate(doc.contents, segments, key);
    return { path: formatPath(segments), ...position(node?.range?.[0] ?? 0), message };
  };
  let problems: DefinitionProblem[] = [];
  if (!check(data)) {
    for (const error of check.errors ?? []) {
      const d = describe(error);
      if (d) problems.push(at(d.segments, d.message, d.key));
    }
  } else {
    // The schema passed, so the data has the definition's shape.
    problems = semanticProblems(data as AgentDefinition).map((p) => at(p.segments, p.message, false));
  }
  if (problems.length > 0) {
    const unique = new Map(problems.map((p) => [`${p.path}|${p.message}`, p]));
    return {
      ok: false,
      problems: [...unique.values()].sort((a, b) => a.line - b.line || a.column - b.column),
    };
  }
  return {
    ok: true,
    definition: data as AgentDefinition,
    sha256: createHash('sha256').update(source).digest('hex'),
  };
}

/** `file:3:12 capabilities[2].version: not a semver version` lines, as the CLI prints them. */
export function formatProblems(problems: DefinitionProblem[], file = 'definition'): string[] {
  return problems.map((p) => `${file}:${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`);
}

/** The GraphQL error for an invalid definition: every problem in `extensions.problems`. */
export function invalidDefinition(problems: DefinitionProblem[]): PlatformError {
  const shown = problems
    .slice(0, 5)
    .map((p) => `${p.path || 'definition'}: ${p.message} (line ${p.line}, column ${p.column})`);
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
  return new PlatformError(
    ErrorCode.INVALID_AGENT_DEFINITION,
    `Invalid agent definition: ${shown.join('; ')}${more}`,
    { problems },
  );
}
