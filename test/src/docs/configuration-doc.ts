// Generates docs/configuration.md from the zod schemas the processes parse their environment with, so
// the documented variables, defaults and accepted values are the ones the code enforces. The schemas
// are imported from each workspace's source (not through the packages' exports, which do not all
// export them); the descriptions are the `/** ... */` comments written above each variable.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { environmentSchema as agentsRuntime } from '../../../agents/src/runtime/environment';
import { environmentSchema as gateway } from '../../../gateway/src/environment';
import { subgraphs } from '../../../gateway/src/subgraphs';
import { environmentSchema as discovery } from '../../../services/discovery/src/environment';
import { environmentSchema as factory } from '../../../services/factory/src/environment';
import { environmentSchema as identity } from '../../../services/identity/src/environment';
import { environmentSchema as marketplace } from '../../../services/marketplace/src/environment';
import { environmentSchema as orchestration } from '../../../services/orchestration/src/environment';
import { environmentSchema as support } from '../../../services/support/src/environment';
import { formatMarkdown, REPO_ROOT } from './repo';

/** What the generator needs of a zod schema (zod 4's own methods), without depending on zod here. */
interface EnvSchema {
  toJSONSchema(params: { io: 'input'; unrepresentable: 'any' }): unknown;
  safeParse(input: unknown): { success: boolean; data?: unknown };
}

interface ProcessConfig {
  /** The heading and anchor of the process's section. */
  name: string;
  /** The file declaring the schema, relative to the repository root. */
  schemaFile: string;
  schema: EnvSchema;
}

/** Every process of the platform and the schema it reads its environment with. */
export const PROCESSES: readonly ProcessConfig[] = [
  { name: 'gateway', schemaFile: 'gateway/src/environment.ts', schema: gateway },
  { name: 'identity', schemaFile: 'services/identity/src/environment.ts', schema: identity },
  { name: 'factory', schemaFile: 'services/factory/src/environment.ts', schema: factory },
  { name: 'discovery', schemaFile: 'services/discovery/src/environment.ts', schema: discovery },
  { name: 'orchestration', schemaFile: 'services/orchestration/src/environment.ts', schema: orchestration },
  { name: 'marketplace', schemaFile: 'services/marketplace/src/environment.ts', schema: marketplace },
  { name: 'support', schemaFile: 'services/support/src/environment.ts', schema: support },
  { name: 'agents-runtime', schemaFile: 'agents/src/runtime/environment.ts', schema: agentsRuntime },
];

/** The schema every process's schema extends (serviceEnvSchema), where the common variables are described. */
export const BASE_SCHEMA_FILE = 'shared/src/config.ts';

/** Where the generated page goes, relative to the repository root. */
export const CONFIGURATION_DOC = 'docs/configuration.md';

/**
 * Descriptions of variables whose schema entry has no doc comment. A comment in the schema is better
 * (it is next to the code): once a variable has one, its note here must go, and generation says so.
 */
const NOTES: Readonly<Record<string, string>> = {
  NODE_ENV:
    '`production` turns off the GraphQL landing page and, unless `INTROSPECTION=true`, introspection, and makes the process refuse to start with a development secret.',
  LOG_LEVEL: 'The lowest level of log line (pino) the process writes.',
  KAFKA_BROKERS: 'Kafka bootstrap servers, a comma-separated list of `host:port`.',
  KAFKA_DEFAULT_PARTITIONS: 'Partitions of the topics (and dead-letter topics) the process creates.',
  MONGO_URL:
    'The MongoDB server. Each service uses its own database on it (named by its `*_DB` variable, with the namespace as a prefix).',
  HOST: 'The address the HTTP server (GraphQL and health endpoints) listens on.',
  PORT: 'The HTTP port of the process: `/health/live`, `/health/ready` and, except on the agents runtime, `/graphql`.',
  IDENTITY_DB: 'The MongoDB database of agents.',
  FACTORY_DB: 'The MongoDB database of definitions and builds.',
  FACTORY_CATALOGUE_DIR: 'The folder of agent definition YAML files loaded at start.',
  DISCOVERY_DB: 'The MongoDB database of the instance registry.',
  HEALTH_DEGRADED_LATENCY_MS: 'Recent average latency (ms) at or above which an instance is DEGRADED.',
  HEALTH_UNHEALTHY_LATENCY_MS: 'Recent average latency (ms) at or above which an instance is UNHEALTHY.',
  HEALTH_DEGRADED_ERROR_RATE: 'Recent error rate (0 to 1) at or above which an instance is DEGRADED.',
  HEALTH_UNHEALTHY_ERROR_RATE: 'Recent error rate (0 to 1) at or above which an instance is UNHEALTHY.',
  HEALTH_IMPROVE_AFTER: "Consecutive good observations before an instance's health gets better (hysteresis).",
  ORCHESTRATION_DB: 'The MongoDB database of tasks, workflows, sagas and the instance replica.',
  TASK_DEFAULT_TIMEOUT_MS: "An attempt's timeout when the task does not set `timeoutMs`.",
  TASK_DEFAULT_MAX_ATTEMPTS: 'Attempts a task gets when its retry policy does not say.',
  TASK_RETRY_INITIAL_MS: "The first retry's backoff when the retry policy does not say.",
  TASK_RETRY_MAX_MS: 'The longest retry backoff when the retry policy does not say.',
  TASK_RETRY_JITTER: 'How retry backoffs are randomised when the retry policy does not say.',
  TASK_DEFAULT_STRATEGY: 'The load-balancing strategy of a task that names none.',
  MARKETPLACE_DB: 'The MongoDB database of listings, trials, deliverables, subscriptions and reviews.',
  SUPPORT_DB: 'The MongoDB database of tickets and knowledge articles.',
  SUPPORT_SLA_L2_SECONDS: 'The SLA of tier L2 (see `SUPPORT_SLA_L1_SECONDS`).',
  SUPPORT_SLA_L3_SECONDS: 'The SLA of tier L3 (see `SUPPORT_SLA_L1_SECONDS`).',
  SUPPORT_L2_TIMEOUT_MS: "The per-attempt timeout of the L2 agents' tasks (see `SUPPORT_L1_TIMEOUT_MS`).",
  JWT_JWKS_URL: 'A JWKS endpoint; when set, client tokens are RS256 tokens verified with its keys.',
  JWT_ISSUER: 'The `iss` client tokens must carry.',
  JWT_AUDIENCE: 'The `aud` client tokens must carry.',
  MAX_QUERY_ALIASES: 'Aliases an operation may use.',
  MAX_QUERY_DIRECTIVES: 'Directives an operation may use.',
  RATE_LIMIT_PER_MINUTE: "Tokens a caller's rate-limit bucket gains per minute.",
  RATE_LIMIT_BURST: "The size of a caller's rate-limit bucket.",
  SANDBOX: 'Apollo Sandbox on GET `/graphql` outside production.',
  HEARTBEAT_INTERVAL_MS: "How often the runtime sends each instance's heartbeat with its load.",
  LLM_API_KEY: 'Sent as `Authorization: Bearer <key>` to the LLM API, when set.',
  LLM_MODEL: 'The model name sent with each completion request.',
};

/** The JSON Schema zod gives for one variable (the input side: what the environment holds). */
interface VariableSchema {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

interface Variable {
  name: string;
  /** Rendered default (Markdown). */
  default: string;
  /** Rendered accepted values (Markdown). */
  accepted: string;
}

/** A variable as declared in a schema file: its doc comment and its declaration's source text. */
interface Declaration {
  comment: string | undefined;
  source: string;
  file: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The variables of a schema with their JSON Schema, in declaration order. */
function properties(schema: EnvSchema): Record<string, VariableSchema> {
  const json = schema.toJSONSchema({ io: 'input', unrepresentable: 'any' });
  if (!isRecord(json) || !isRecord(json.properties))
    throw new Error('an environment schema must be an object');
  return json.properties as Record<string, VariableSchema>;
}

/** What the process sees with no variable set (the output side: transforms applied). */
function parsedDefaults(process: ProcessConfig): Record<string, unknown> {
  const result = process.schema.safeParse({});
  if (!result.success || !isRecord(result.data))
    throw new Error(`${process.schemaFile}: the schema does not accept an empty environment`);
  return result.data;
}

/**
 * Every `NAME:` declaration of an upper-case variable in a schema file, with the doc comment right
 * above it and its source up to the next one (to tell defaults that depend on the machine).
 */
function declarations(file: string): Map<string, Declaration> {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const starts = [...text.matchAll(/^[ \t]*(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?([A-Z][A-Z0-9_]{2,}):/gm)];
  const found = new Map<string, Declaration>();
  starts.forEach((match, i) => {
    const name = match[2]!;
    const end = starts[i + 1]?.index ?? text.length;
    const source = text.slice(match.index + match[0].length, end);
    const comment = match[1]
      ?.split('\n')
      .map((line) => line.replace(/^\s*\*?\s?/, '').trim())
      .join(' ')
      .replace(/\{@link\s+([^}\s]+)\s*\}/g, '`$1`')
      .replace(/\s+/g, ' ')
      .trim();
    const earlier = found.get(name);
    // A name may appear twice in one file (DEV_SECRETS and the schema): keep the described one.
    if (!earlier || (!earlier.comment && comment)) found.set(name, { comment, source, file });
  });
  return found;
}

/** Markdown a table cell can hold: no line breaks, pipes escaped, bare URLs as code (not links). */
function cell(text: string): string {
  const withCodeUrls = text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1 ? part : part.replace(/\bhttps?:\/\/[^\s),]+[^\s),.]/g, (url) => `\`${url}\``),
    )
    .join('');
  return withCodeUrls.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

const code = (value: string) => `\`${value}\``;

/** The environment-variable form of a parsed default (lists comma-separated, flags as words). */
function asEnvironmentValue(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value);
}

/**
 * A default computed from the machine (the repository's path, the host name) shown with a
 * placeholder, so the page is the same wherever it is generated. Only declarations that compute
 * from the machine are touched.
 */
function machineIndependent(value: string, declaration: Declaration | undefined): string {
  if (!declaration || !/hostname\(\)|__dirname|process\.cwd\(\)/.test(declaration.source)) return value;
  return value.split(REPO_ROOT).join('<repo>').split(hostname()).join('<hostname>');
}

function renderDefault(
  schema: VariableSchema,
  parsed: unknown,
  declaration: Declaration | undefined,
): string {
  const value = asEnvironmentValue(schema.default !== undefined ? schema.default : parsed);
  if (value === undefined) return 'unset';
  if (value === '') return 'empty';
  return code(machineIndependent(value, declaration));
}

function renderAccepted(schema: VariableSchema): string {
  if (schema.enum) {
    const values = schema.enum.map(String);
    if (values.length === 2 && values.includes('true') && values.includes('false'))
      return '`true` or `false`';
    return `one of ${values.map(code).join(', ')}`;
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'integer' : 'number';
    const bounds: string[] = [];
    if (schema.minimum !== undefined) bounds.push(`at least ${schema.minimum}`);
    if (schema.exclusiveMinimum !== undefined) bounds.push(`more than ${schema.exclusiveMinimum}`);
    // zod states an integer's upper bound as the largest safe integer: no bound a reader needs.
    if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER)
      bounds.push(`at most ${schema.maximum}`);
    if (schema.exclusiveMaximum !== undefined) bounds.push(`less than ${schema.exclusiveMaximum}`);
    return bounds.length > 0 ? `${kind}, ${bounds.join(' and ')}` : kind;
  }
  const parts: string[] = [schema.format === 'uri' ? 'URL' : 'text'];
  if (schema.pattern) parts.push(`matching ${code(schema.pattern)}`);
  if (schema.minLength !== undefined && schema.minLength > 1)
    parts.push(`at least ${schema.minLength} characters`);
  if (schema.minLength === 1) parts.push('not empty');
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  return parts.join(', ');
}

const sameVariable = (a: Variable, b: Variable) => a.default === b.default && a.accepted === b.accepted;

function table(rows: readonly Variable[], describe: (name: string) => string): string {
  return [
    '| Variable | Default | Accepted | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (v) => `| ${code(v.name)} | ${cell(v.default)} | ${cell(v.accepted)} | ${cell(describe(v.name))} |`,
    ),
  ].join('\n');
}

const link = (file: string) => `[${file}](../${file})`;

/** The page's Markdown before formatting. Throws when a variable has no description, or a note is stale. */
export function renderConfiguration(): string {
  const declared = new Map<string, Declaration>();
  for (const file of [BASE_SCHEMA_FILE, ...PROCESSES.map((p) => p.schemaFile)])
    for (const [name, declaration] of declarations(file))
      if (!declared.get(name)?.comment) declared.set(name, declaration);

  const perProcess = PROCESSES.map((process) => {
    const parsed = parsedDefaults(process);
    const variables = Object.entries(properties(process.schema)).map(([name, schema]): Variable => ({
      name,
      default: renderDefault(schema, parsed[name], declared.get(name)),
      accepted: renderAccepted(schema),
    }));
    return { process, variables };
  });

  const problems: string[] = [];
  const described = new Set<string>();
  const describe = (name: string): string => {
    described.add(name);
    const comment = declared.get(name)?.comment;
    if (comment && NOTES[name])
      problems.push(`${name}: its schema now has a doc comment; remove its note from NOTES`);
    const text = comment ?? NOTES[name];
    if (!text) {
      problems.push(
        `${name}: no description; write a /** ... */ comment above it in ${declared.get(name)?.file ?? 'its schema'}`,
      );
      return '';
    }
    return text;
  };

  // Variables every process reads (the base schema's) are listed once; a process's table lists its
  // own, and common ones whose default or values differ for it (the port).
  const [first, ...others] = perProcess;
  const common = first!.variables.filter((v) =>
    others.every((o) => o.variables.some((w) => w.name === v.name)),
  );
  const commonNames = new Set(common.map((v) => v.name));
  const differs = new Set(
    common
      .filter((v) =>
        others.some(
          (o) =>
            !sameVariable(
              v,
              o.variables.find((w) => w.name === v.name)!,
            ),
        ),
      )
      .map((v) => v.name),
  );

  const sections: string[] = [
    '<!-- Generated by `npm run docs:config` from the zod schemas listed below. Edit the schemas, not this file. -->',
    '# Configuration',
    [
      'Every process reads its settings from environment variables and checks them with a zod schema when it',
      'starts: with an invalid value it prints every problem and exits with 1, and with `NODE_ENV=production`',
      'it refuses to start with a development secret. This page is generated from those schemas by',
      `\`npm run docs:config\` (${link('test/src/docs/configuration-doc.ts')}); a test fails when it is out`,
      'of date. Descriptions are the comments above each variable in its schema.',
    ].join('\n'),
    [
      '| Process | Schema |',
      '| --- | --- |',
      ...PROCESSES.map((p) => `| [${p.name}](#${p.name}) | ${link(p.schemaFile)} |`),
    ].join('\n'),
    '## Every process',
    `Declared in ${link(BASE_SCHEMA_FILE)} and read by every process above.`,
    table(
      common.map((v) => (differs.has(v.name) ? { ...v, default: 'differs by process (see each)' } : v)),
      describe,
    ),
  ];

  for (const { process, variables } of perProcess) {
    const own = variables.filter((v) => !commonNames.has(v.name) || differs.has(v.name));
    sections.push(`## ${process.name}`, `Declared in ${link(process.schemaFile)}.`, table(own, describe));
    if (process.name === 'gateway') {
      // The gateway finds the subgraphs through variables read in subgraphs.ts, outside its schema.
      const urls = subgraphs()
        .filter((s) => !s.local)
        .map((s): Variable => ({
          name: `${s.name.toUpperCase()}_URL`,
          default: code(s.url),
          accepted: 'URL',
        }));
      sections.push(
        'The subgraphs the gateway calls, read by [gateway/src/subgraphs.ts](../gateway/src/subgraphs.ts) (not checked by the schema):',
        table(
          urls,
          (name) => `The GraphQL endpoint of the ${name.replace(/_URL$/, '').toLowerCase()} subgraph.`,
        ),
      );
    }
  }

  for (const name of Object.keys(NOTES))
    if (!described.has(name)) problems.push(`${name}: NOTES describes a variable no schema declares`);
  if (problems.length > 0) throw new Error(`cannot document the configuration:\n  ${problems.join('\n  ')}`);
  return `${sections.join('\n\n')}\n`;
}

/** docs/configuration.md as `npm run docs:config` writes it (formatted like every other file). */
export const configurationDoc = () => formatMarkdown(renderConfiguration(), CONFIGURATION_DOC);
