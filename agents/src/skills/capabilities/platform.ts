import { z } from 'zod';
import { PLATFORM_HELP_ARTICLES } from '@waooaw/shared';
import type { AgentManifest } from '../../manifest';
import type { SkillRequest } from '../types';
import { SkillInputError, SkillUnavailableError } from '../types';
import { pct, round } from './kit/numbers';
import { jsonResult } from './kit/render';
import type { CapabilityImpl } from './kit/request';
import { askOf, detailRecords, detailString, num, str } from './kit/request';
import { contentWords, overlap, quoted, tokenize } from './kit/text';

export interface Article {
  id: string;
  title: string;
  body: string;
  tags: string[];
}

/** The built-in help-centre articles (the platform's own, shared with the support service's knowledge base). */
export const HELP_CENTRE: readonly Article[] = PLATFORM_HELP_ARTICLES.map((a) => ({
  ...a,
  tags: [...a.tags],
}));

/** Scores articles against a question by stemmed token overlap (title and tags weigh more than body). */
export function rankArticles(
  question: string,
  articles: readonly Article[],
): { article: Article; confidence: number }[] {
  const q = contentWords(question);
  return articles
    .map((article) => {
      const title = overlap(q, contentWords(article.title));
      const tags = overlap(q, article.tags.flatMap(tokenize));
      const body = overlap(q, contentWords(article.body));
      const confidence = round(Math.min(1, 0.5 * title + 0.3 * tags + 0.35 * body), 2);
      return { article, confidence };
    })
    .sort((a, b) => b.confidence - a.confidence || a.article.id.localeCompare(b.article.id));
}

const articleSchema = z.object({
  id: z.string(),
  title: z.string(),
  body: z.string(),
  tags: z.array(z.string()).default([]),
});

function articlesOf(details: Record<string, unknown>): readonly Article[] {
  if (details.articles === undefined) return HELP_CENTRE;
  const parsed = z.array(articleSchema).safeParse(details.articles);
  if (!parsed.success)
    throw new SkillInputError('details.articles must be a list of { id, title, body, tags }');
  return parsed.data;
}

const ANSWER_THRESHOLD = 0.45;

const answerTicket: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const ranked = rankArticles(ask.request, articlesOf(ask.details));
  const best = ranked[0];
  const confident = !!best && best.confidence >= ANSWER_THRESHOLD;
  return jsonResult(
    request,
    'Ticket answer',
    confident
      ? `answered from ${best.article.id} (confidence ${best.confidence})`
      : `escalate: best confidence ${best?.confidence ?? 0}`,
    {
      question: ask.request,
      resolved: confident,
      confidence: best?.confidence ?? 0,
      answer: confident ? best.article.body : null,
      articlesUsed: confident ? [best.article.id] : [],
      escalation: confident
        ? null
        : { reason: `no article reached confidence ${ANSWER_THRESHOLD}`, route: triage(ask.request).skill },
    },
  );
};

const searchKnowledgeBase: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const ranked = rankArticles(ask.request, articlesOf(ask.details)).filter((r) => r.confidence > 0);
  return jsonResult(request, 'Knowledge-base search', `${ranked.length} article(s) for "${ask.request}"`, {
    query: ask.request,
    results: ranked.map((r) => ({
      id: r.article.id,
      title: r.article.title,
      score: r.confidence,
      snippet: r.article.body.slice(0, 120),
    })),
  });
};

const AREAS: { area: string; skill: string; match: RegExp }[] = [
  {
    area: 'security',
    skill: 'diagnosis.security',
    match: /\b(401|403|unauth\w*|login|password|token|otp|permission|hack)/i,
  },
  {
    area: 'integration',
    skill: 'diagnosis.integration',
    match: /\b(webhook|api|sync|crm|hubspot|zoho|integration|callback)/i,
  },
  {
    area: 'analytics',
    skill: 'diagnosis.analytics',
    match: /\b(dashboard|report|metric|count|numbers?|chart|analytics)/i,
  },
];

/** Routes a ticket to the L2 diagnosis skill for its area and grades urgency from its wording. */
export function triage(text: string): {
  area: string;
  skill: string;
  urgency: 'high' | 'medium' | 'low';
  signals: string[];
} {
  const hits = AREAS.map((a) => ({ ...a, n: (text.match(new RegExp(a.match.source, 'gi')) ?? []).length }))
    .filter((a) => a.n > 0)
    .sort((a, b) => b.n - a.n);
  const top = hits[0];
  const urgency = /\b(down|all customers|since yesterday|urgent|outage|cannot|stopped|production)\b/i.test(
    text,
  )
    ? 'high'
    : /\b(slow|sometimes|wrong)\b/i.test(text)
      ? 'medium'
      : 'low';
  return {
    area: top?.area ?? 'general',
    skill: top?.skill ?? 'support.answer-ticket',
    urgency,
    signals: hits.map((h) => h.area),
  };
}

const triageTicket: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const t = triage(quoted(ask.request) ?? ask.request);
  return jsonResult(request, 'Ticket triage', `${t.area} / ${t.urgency} -> ${t.skill}`, {
    ticket: ask.request,
    ...t,
  });
};

/**
 * Scores catalogue manifests for a query by token overlap with name, specialization, tags and
 * capability descriptions; deterministic (ties by handle) so the runtime can back searchCatalogue with it.
 */
export function searchManifests(
  manifests: readonly AgentManifest[],
  query: string,
  limit: number,
): { handle: string; name: string; specialization: string; score: number }[] {
  const q = contentWords(query);
  return manifests
    .map((m) => {
      const name = overlap(q, tokenize(m.name.replace(/([a-z])([A-Z])/g, '$1 $2')));
      const spec = overlap(q, contentWords(m.specialization));
      const tags = overlap(q, m.tags.flatMap(tokenize));
      const caps = overlap(
        q,
        m.capabilities.flatMap((c) => contentWords(`${c.name.replace(/[.-]/g, ' ')} ${c.description}`)),
      );
      const score = round(0.2 * name + 0.35 * spec + 0.25 * tags + 0.2 * caps, 3);
      return { handle: m.handle, name: m.name, specialization: m.specialization, score };
    })
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || a.handle.localeCompare(b.handle))
    .slice(0, Math.max(0, limit));
}

const semanticQuery: CapabilityImpl = async (request) => {
  const ask = askOf(request);
  const limit = num(ask.details, 'limit') ?? 5;
  const documents = detailRecords(ask.details, 'documents');
  const index =
    detailString(ask.details, 'index') ??
    (documents.length
      ? 'documents'
      : /\b(agents?|catalogue|catalog|hire)\b/i.test(ask.request)
        ? 'catalogue'
        : 'help-centre');
  if (index === 'catalogue') {
    const platform = request.context.platform;
    if (!platform?.searchCatalogue)
      throw new SkillUnavailableError(
        'search.semantic-query on the catalogue needs the platform searchCatalogue service, which this runtime did not provide',
      );
    const results = await platform.searchCatalogue(ask.request, limit);
    return jsonResult(request, 'Catalogue search', `${results.length} agent(s) for "${ask.request}"`, {
      query: ask.request,
      index,
      results,
    });
  }
  const articles: Article[] = documents.length
    ? documents.map((d, i) => ({
        id: str(d, 'id') || `doc-${i + 1}`,
        title: str(d, 'title'),
        body: str(d, 'text') || str(d, 'body'),
        tags: [],
      }))
    : [...HELP_CENTRE];
  const results = rankArticles(ask.request, articles)
    .filter((r) => r.confidence > 0)
    .slice(0, limit)
    .map((r) => ({
      source: r.article.id,
      title: r.article.title,
      score: r.confidence,
      passage: r.article.body,
    }));
  return jsonResult(request, 'Semantic query', `${results.length} passage(s) from ${index}`, {
    query: ask.request,
    index,
    results,
  });
};

/** Splits text into chunks of at most `size` words, overlapping by `overlapWords`, for indexing. */
export function chunk(text: string, size = 120, overlapWords = 20): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size - overlapWords) {
    out.push(words.slice(i, i + size).join(' '));
    if (i + size >= words.length) break;
  }
  return out;
}

const indexDocuments: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const docs = detailRecords(ask.details, 'documents');
  const index =
    detailString(ask.details, 'index') ??
    (contentWords(ask.request)
      .filter((w) => w !== 'index' && w !== 'updated')
      .join('-') ||
      'default');
  const plan = docs.map((d, i) => {
    const chunks = chunk(str(d, 'text') || str(d, 'body'));
    return {
      id: str(d, 'id') || `doc-${i + 1}`,
      chunks: chunks.length,
      words: chunks.length ? (str(d, 'text') || str(d, 'body')).split(/\s+/).filter(Boolean).length : 0,
      replacesEarlierVersion: true,
    };
  });
  return jsonResult(
    request,
    'Index plan',
    `${plan.length} document(s), ${plan.reduce((a, p) => a + p.chunks, 0)} chunk(s) into ${index}`,
    {
      index,
      chunking: { wordsPerChunk: 120, overlapWords: 20 },
      documents: plan,
      note: docs.length ? undefined : 'send details.documents: [{ id, text }] to chunk them',
    },
  );
};

const rerankResults: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const query = quoted(ask.request) ?? detailString(ask.details, 'query') ?? ask.request;
  const candidates = detailRecords(ask.details, 'candidates');
  const seen = new Set<string>();
  const ranked = candidates
    .map((c, i) => ({
      id: str(c, 'id') || `c${i + 1}`,
      text: str(c, 'text'),
      score: round(overlap(contentWords(query), contentWords(str(c, 'text'))), 3),
    }))
    .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id))
    .filter((c) => {
      const key = contentWords(c.text).sort().join(' ');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  return jsonResult(
    request,
    'Reranked results',
    `${ranked.length} of ${candidates.length} candidates kept for "${query}"`,
    { query, dropped: candidates.length - ranked.length, results: ranked },
  );
};

/** Period covered by a report ("monthly", "weekly", "daily") ending at the task clock. */
function periodOf(text: string, now: Date): { label: string; from: string; to: string } {
  const days = /\bweek/i.test(text)
    ? 7
    : /\b(day|daily|yesterday)/i.test(text)
      ? 1
      : /\bquarter/i.test(text)
        ? 90
        : 30;
  return {
    label: `${days} days`,
    from: new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10),
    to: now.toISOString().slice(0, 10),
  };
}

/** Summarises task records given inline ({ capability, status, durationMs }) like taskStats does. */
export function aggregateTasks(tasks: Record<string, unknown>[]) {
  const done = tasks.filter((t) => str(t, 'status') === 'COMPLETED');
  const failed = tasks.filter((t) => str(t, 'status') === 'FAILED');
  const ms = done.map((t) => num(t, 'durationMs') ?? 0).sort((a, b) => a - b);
  const caps = [...new Set(tasks.map((t) => str(t, 'capability')))].sort();
  return {
    completed: done.length,
    failed: failed.length,
    averageMs: ms.length ? Math.round(ms.reduce((a, b) => a + b, 0) / ms.length) : 0,
    p95Ms: ms.length ? ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)]! : 0,
    byCapability: caps.map((capability) => ({
      capability,
      completed: done.filter((t) => str(t, 'capability') === capability).length,
      failed: failed.filter((t) => str(t, 'capability') === capability).length,
    })),
  };
}

const buildReport: CapabilityImpl = async (request: SkillRequest) => {
  const ask = askOf(request);
  const handle = /\bwow-[a-z-]+/i.exec(ask.request)?.[0] ?? detailString(ask.details, 'agentHandle');
  const capability = /\b[a-z]+\.[a-z-]+\b/.exec(ask.request)?.[0] ?? detailString(ask.details, 'capability');
  const filter = { ...(handle ? { agentHandle: handle } : {}), ...(capability ? { capability } : {}) };
  const inline = detailRecords(ask.details, 'tasks');
  const platform = request.context.platform;
  const stats = inline.length
    ? aggregateTasks(inline)
    : platform?.taskStats
      ? await platform.taskStats(filter)
      : undefined;
  const period = periodOf(ask.request, request.context.now);
  const audience = /\bcustomer/i.test(ask.request) ? 'customer' : 'operator';
  if (!stats)
    return jsonResult(request, 'Task report (no data)', `no task data: taskStats service not provided`, {
      period,
      audience,
      filter,
      figures: null,
      missingService: 'taskStats',
      note: 'send details.tasks [{ capability, status, durationMs }] or run with the platform taskStats service',
    });
  const total = stats.completed + stats.failed;
  return jsonResult(
    request,
    'Task report',
    `${stats.completed}/${total} tasks succeeded (${pct(stats.completed, total)}%)`,
    {
      period,
      audience,
      filter,
      source: inline.length ? 'details.tasks' : 'taskStats',
      figures: { ...stats, total, successRate: pct(stats.completed, total) },
      worstCapabilities: [...stats.byCapability]
        .map((c) => ({ ...c, failureRate: pct(c.failed, c.completed + c.failed) }))
        .sort((a, b) => b.failureRate - a.failureRate || a.capability.localeCompare(b.capability))
        .slice(0, 3),
    },
  );
};

const trackKpi: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const target = num(ask.details, 'target') ?? Number(/(\d+(?:\.\d+)?)\s*%/.exec(ask.request)?.[1] ?? NaN);
  const name = /track\s+(.+?)(?:\s+per\s+|\s+with\s+|$)/i.exec(ask.request)?.[1] ?? 'kpi';
  const by = /\bper\s+(\w+)/i.exec(ask.request)?.[1];
  const series = detailRecords(ask.details, 'series').map((s) => ({
    segment: str(s, 'segment') || 'all',
    numerator: num(s, 'numerator') ?? 0,
    denominator: num(s, 'denominator') ?? 0,
  }));
  const values = series.map((s) => ({
    ...s,
    value: pct(s.numerator, s.denominator),
    onTarget: Number.isFinite(target) ? pct(s.numerator, s.denominator) >= target : null,
  }));
  return jsonResult(
    request,
    `KPI: ${name}`,
    `${name}${by ? ` per ${by}` : ''}, target ${Number.isFinite(target) ? `${target}%` : 'unset'}`,
    {
      kpi: {
        name,
        definition: `${name} = converting count / starting count, as a percentage`,
        groupBy: by ?? null,
        target: Number.isFinite(target) ? target : null,
        alertWhen: Number.isFinite(target) ? `below ${round(target * 0.9, 1)}% (10% under target)` : null,
      },
      values,
      alerts: values
        .filter((v) => Number.isFinite(target) && v.value < target * 0.9)
        .map((v) => `${v.segment}: ${v.value}%`),
    },
  );
};

/** Rule-based L2 diagnosis over the facts in details (config, metrics, logs) and the ticket wording. */
function diagnose(area: 'security' | 'integration' | 'analytics'): CapabilityImpl {
  return (request) => {
    const ask = askOf(request);
    const text = `${ask.request} ${JSON.stringify(ask.details)}`.toLowerCase();
    const rules: { when: RegExp; cause: string; fix: string }[] = {
      security: [
        {
          when: /password reset|reset/,
          cause:
            'Sessions issued before the password reset were revoked; the client still sends the old token',
          fix: 'Sign out and in again; check the client refreshes tokens after a 401',
        },
        {
          when: /unauthenticated|401|token/,
          cause: 'Token missing, expired or signed with a rotated key',
          fix: 'Check the token expiry and the key id against the current JWKS',
        },
        {
          when: /mfa|otp/,
          cause: 'OTP delivery or clock drift',
          fix: 'Check SMS provider status and device time',
        },
      ],
      integration: [
        {
          when: /rotat|api key|401/,
          cause: 'The integration still uses the old API key',
          fix: 'Update the stored credential and re-run the failed sync',
        },
        { when: /rate|429/, cause: 'The partner API is rate limiting', fix: 'Back off and batch requests' },
        {
          when: /timeout|5\d\d/,
          cause: 'The partner endpoint is failing',
          fix: 'Retry with backoff; check partner status page',
        },
      ],
      analytics: [
        {
          when: /zero|missing|no data/,
          cause: 'The events for the period were not ingested (pipeline lag or a broken emitter)',
          fix: 'Compare raw event counts for the day with the dashboard; backfill if raw events exist',
        },
        {
          when: /differ|mismatch|invoice/,
          cause: 'The two numbers use different definitions or time zones',
          fix: 'Align the metric definition and use IST day boundaries in both',
        },
        {
          when: /yesterday|today/,
          cause: 'The daily aggregation job has not run for the latest day',
          fix: 'Check the last successful aggregation run',
        },
      ],
    }[area];
    const matched = rules.filter((r) => r.when.test(text));
    const metrics = Object.entries(ask.details).filter(([, v]) => typeof v === 'number') as [
      string,
      number,
    ][];
    return jsonResult(
      request,
      `L2 ${area} diagnosis`,
      matched.length ? `${matched.length} likely cause(s)` : 'no rule matched: escalate to L3',
      {
        ticket: ask.request,
        likelyCauses: matched.map((m) => ({ cause: m.cause, fix: m.fix })),
        facts: Object.fromEntries(metrics),
        escalate: matched.length === 0,
        escalateTo: matched.length === 0 ? 'review.escalation' : null,
      },
    );
  };
}

const yamlInput = z.object({ yaml: z.string().min(1, 'yaml must hold an agent definition') });

function readYaml(input: unknown): string {
  const parsed = yamlInput.safeParse(typeof input === 'string' ? { yaml: input } : input);
  if (!parsed.success) throw new SkillInputError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data.yaml;
}

/** Local checks on a definition's text (top-level keys, handle and capability name format) before the factory sees it. */
export function lintDefinition(yaml: string): string[] {
  const problems: string[] = [];
  const top = new Set((yaml.match(/^[a-zA-Z]+(?=:)/gm) ?? []).map(String));
  for (const k of ['schemaVersion', 'handle', 'name', 'version', 'template', 'capabilities'])
    if (!top.has(k)) problems.push(`/${k}: missing`);
  const handle = /^handle:\s*(\S+)/m.exec(yaml)?.[1];
  if (handle && !/^[a-z][a-z0-9-]{2,40}$/.test(handle))
    problems.push(`/handle: "${handle}" must be lower-case letters, digits and hyphens`);
  const version = /^version:\s*(\S+)/m.exec(yaml)?.[1];
  if (version && !/^\d+\.\d+\.\d+$/.test(version)) problems.push(`/version: "${version}" is not semver`);
  for (const m of yaml.matchAll(/^\s+- name:\s*(\S+)/gm))
    if (!/^[a-z]+(\.[a-z-]+)+$/.test(m[1]!))
      problems.push(`/capabilities: name "${m[1]}" must look like area.action`);
  return problems;
}

const createAgent: CapabilityImpl = async (request) => {
  const platform = request.context.platform;
  if (!platform?.submitAgentDefinition)
    throw new SkillUnavailableError(
      'factory.create-agent needs the platform factory (submitAgentDefinition), which this runtime did not provide',
    );
  const yaml = readYaml(request.input);
  const build = await platform.submitAgentDefinition(yaml);
  return jsonResult(request, 'Agent build submitted', `build ${build.buildId} is ${build.status}`, {
    build,
    handle: /^handle:\s*(\S+)/m.exec(yaml)?.[1] ?? null,
    localWarnings: lintDefinition(yaml),
  });
};

const validateDefinition: CapabilityImpl = async (request) => {
  const platform = request.context.platform;
  if (!platform?.validateAgentDefinition)
    throw new SkillUnavailableError(
      'factory.validate-definition needs the platform factory (validateAgentDefinition), which this runtime did not provide',
    );
  const yaml = readYaml(request.input);
  const result = await platform.validateAgentDefinition(yaml);
  const local = lintDefinition(yaml);
  const problems = [...new Set([...result.problems, ...local])];
  return jsonResult(
    request,
    'Definition check',
    result.valid && !local.length ? 'the definition is valid' : `${problems.length} problem(s)`,
    { valid: result.valid && local.length === 0, problems, factoryValid: result.valid },
  );
};

/** The semver bump a set of definition changes needs (removals break callers; additions do not). */
export function requiredBump(changes: string): 'major' | 'minor' | 'patch' {
  if (/\b(remov\w*|renam\w*|delet\w*|drop\w*|required field|breaking)\b/i.test(changes)) return 'major';
  if (/\b(add\w*|new capability|new optional)\b/i.test(changes)) return 'minor';
  return 'patch';
}

const diffDefinition: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const bump = requiredBump(ask.request);
  const current =
    detailString(ask.details, 'currentVersion') ?? /\b(\d+\.\d+\.\d+)\b/.exec(ask.request)?.[1] ?? '1.0.0';
  const [ma, mi, pa] = current.split('.').map(Number) as [number, number, number];
  const next =
    bump === 'major' ? `${ma + 1}.0.0` : bump === 'minor' ? `${ma}.${mi + 1}.0` : `${ma}.${mi}.${pa + 1}`;
  return jsonResult(request, 'Version recommendation', `${bump} bump: ${current} -> ${next}`, {
    change: ask.request,
    bump,
    currentVersion: current,
    nextVersion: next,
    reason:
      bump === 'major'
        ? 'callers of a removed or renamed capability would break'
        : bump === 'minor'
          ? 'additions are backwards compatible'
          : 'no contract change',
  });
};

/** Replaces {{name}} placeholders; reports any placeholder with no value. */
export function renderTemplate(
  template: string,
  vars: Record<string, string>,
): { text: string; missing: string[] } {
  const missing: string[] = [];
  const text = template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => {
    if (vars[k] === undefined) {
      missing.push(k);
      return `{{${k}}}`;
    }
    return vars[k];
  });
  return { text, missing: [...new Set(missing)] };
}

const TEMPLATES: Record<string, string> = {
  'deliverable-ready': 'Hi {{name}}, your trial deliverable from {{agent}} is ready. Open it in My agents.',
  'trial-ending': 'Hi {{name}}, your trial of {{agent}} ends on {{date}}. Choose a plan to keep going.',
  generic: 'Hi {{name}}, {{message}}',
};

function notificationOf(request: SkillRequest) {
  const ask = askOf(request);
  const channel = /\bsms\b/i.test(ask.request)
    ? 'sms'
    : /\b(in-app|push)\b/i.test(ask.request)
      ? 'in-app'
      : 'email';
  const key =
    detailString(ask.details, 'template') ??
    (/deliverable/i.test(ask.request)
      ? 'deliverable-ready'
      : /trial.?ending|trial ends/i.test(ask.request)
        ? 'trial-ending'
        : 'generic');
  const template = TEMPLATES[key] ?? (detailString(ask.details, 'templateText') || TEMPLATES.generic!);
  const raw = ask.details.variables;
  const vars: Record<string, string> = {
    name: 'there',
    agent: 'your agent',
    date: new Date(request.context.now.getTime() + 2 * 86_400_000).toISOString().slice(0, 10),
    message: ask.request,
  };
  if (raw && typeof raw === 'object')
    for (const [k, v] of Object.entries(raw))
      if (typeof v === 'string' || typeof v === 'number') vars[k] = String(v);
  const language =
    /\b(tamil|hindi|telugu|marathi|bengali|kannada|english)\b/i.exec(ask.request)?.[1]?.toLowerCase() ??
    'english';
  return { ask, channel, key, ...renderTemplate(template, vars), language };
}

const sendNotification: CapabilityImpl = (request) => {
  const n = notificationOf(request);
  const limit = n.channel === 'sms' ? 160 : undefined;
  return jsonResult(request, 'Notification', `${n.channel} notification rendered from ${n.key}`, {
    channel: n.channel,
    template: n.key,
    body: n.text,
    length: n.text.length,
    withinLimit: limit ? n.text.length <= limit : true,
    missingVariables: n.missing,
    status: n.missing.length ? 'held: missing variables' : 'ready',
  });
};

const renderNotification: CapabilityImpl = (request) => {
  const n = notificationOf(request);
  return jsonResult(request, 'Rendered template', `${n.key} rendered (${n.language})`, {
    template: n.key,
    language: n.language,
    body: n.text,
    missingVariables: n.missing,
    translationNeeded: n.language !== 'english',
  });
};

const managePreferences: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const prefs: Record<string, boolean> = { email: true, sms: true, 'in-app': true };
  const clauses = ask.request.toLowerCase().split(/\bbut\b|,|;/);
  for (const c of clauses)
    for (const ch of Object.keys(prefs))
      if (c.includes(ch.replace('-', ' ')) || c.includes(ch))
        prefs[ch] = !/\b(stop|disable|turn off|no|unsubscribe|mute)\b/.test(c);
  return jsonResult(
    request,
    'Notification preferences',
    Object.entries(prefs)
      .map(([k, v]) => `${k} ${v ? 'on' : 'off'}`)
      .join(', '),
    { preferences: prefs, transactionalAlwaysSent: true },
  );
};

/** review.*: checks the proposal text against governance rules and the accepted decisions given. */
function review(kind: 'architecture' | 'escalation' | 'decision-record'): CapabilityImpl {
  return (request) => {
    const ask = askOf(request);
    const text = `${ask.request} ${detailString(ask.details, 'text') ?? ''}`.toLowerCase();
    const rules: { when: RegExp; finding: string; severity: 'high' | 'medium' }[] = [
      {
        when: /shared (mongo|database|db|cluster)/,
        finding: 'A shared database couples services: each bounded context must own its data',
        severity: 'high',
      },
      {
        when: /synchronous|direct call|rest call between/,
        finding: 'Synchronous calls between services: prefer events on the bus',
        severity: 'medium',
      },
      { when: /single (point|instance)|no replica/, finding: 'Single point of failure', severity: 'high' },
      {
        when: /secret|password|api key/,
        finding: 'Secrets must come from the secret store, never config files',
        severity: 'high',
      },
    ];
    const findings = rules
      .filter((r) => r.when.test(text))
      .map(({ finding, severity }) => ({ finding, severity }));
    const accepted = detailRecords(ask.details, 'acceptedAdrs').map((a) => ({
      id: str(a, 'id'),
      title: str(a, 'title'),
    }));
    const conflicts = accepted.filter((a) => overlap(contentWords(a.title), contentWords(text)) >= 0.5);
    const decision =
      findings.some((f) => f.severity === 'high') || conflicts.length ? 'changes requested' : 'approved';
    return jsonResult(request, `Review: ${kind}`, `${decision} (${findings.length} finding(s))`, {
      subject: ask.request,
      kind,
      decision,
      findings,
      relatedAcceptedAdrs: conflicts,
      ticket: /\bT-\d+\b/.exec(ask.request)?.[0] ?? null,
      adr: /\bADR\s*(\d+)/i.exec(ask.request)?.[1] ?? null,
    });
  };
}

export const platformCapabilities: Record<string, CapabilityImpl> = {
  'support.answer-ticket': answerTicket,
  'support.search-knowledge-base': searchKnowledgeBase,
  'support.triage-ticket': triageTicket,
  'search.semantic-query': semanticQuery,
  'search.index-documents': indexDocuments,
  'search.rerank-results': rerankResults,
  'analytics.build-report': buildReport,
  'analytics.track-kpi': trackKpi,
  'diagnosis.analytics': diagnose('analytics'),
  'diagnosis.security': diagnose('security'),
  'diagnosis.integration': diagnose('integration'),
  'factory.create-agent': createAgent,
  'factory.validate-definition': validateDefinition,
  'factory.diff-definition': diffDefinition,
  'notification.send': sendNotification,
  'notification.render-template': renderNotification,
  'notification.manage-preferences': managePreferences,
  'review.architecture': review('architecture'),
  'review.escalation': review('escalation'),
  'review.decision-record': review('decision-record'),
};
