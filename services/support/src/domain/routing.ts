import { z } from 'zod';
import type { FindingRecord, WorkRecord } from '../models/ticket';

/**
 * The routing rules of the support tiers, pure and deterministic so they can be tested and explained.
 *
 * L1: WowSupport's `support.answer-ticket` answers from the articles it is given. The ticket is
 * resolved at L1 when its output says `resolved` and its confidence reaches the configured minimum
 * (the agent's own threshold is 0.45); otherwise it goes to L2 with the agent's reason and confidence.
 *
 * L2: the diagnosis agents the ticket needs, by keyword rules on the ticket's text (DIAGNOSES below),
 * plus the area L1's triage suggested; with no signal at all, every diagnosis agent looks at it.
 * L2 resolves only when *every* diagnosis task completed and each one says it needs no escalation and
 * found at least one likely cause (see decideL2); anything else goes to L3 with the reasons.
 */

export interface Diagnosis {
  area: 'security' | 'integration' | 'analytics';
  capability: string;
  agentHandle: string;
  /** Words that signal the area (whole words, case-insensitive). */
  signals: RegExp;
}

export const DIAGNOSES: readonly Diagnosis[] = [
  {
    area: 'security',
    capability: 'diagnosis.security',
    agentHandle: 'wow-security',
    signals:
      /\b(401|403|unauth\w*|login|log\s?in|sign[\s-]?in|password\w*|token\w*|otp|mfa|2fa|permission\w*|access|hack\w*|breach\w*|suspicious|secur\w*|locked)\b/i,
  },
  {
    area: 'integration',
    capability: 'diagnosis.integration',
    agentHandle: 'wow-integration',
    signals:
      /\b(webhook\w*|api|apis|api[\s-]?keys?|sync\w*|crm|hubspot|zoho|salesforce|integration\w*|callback\w*|endpoint\w*|oauth|429|timeouts?|timed\s?out)\b/i,
  },
  {
    area: 'analytics',
    capability: 'diagnosis.analytics',
    agentHandle: 'wow-analytics',
    signals:
      /\b(dashboard\w*|reports?|reporting|metrics?|counts?|numbers?|charts?|analytics|data|kpis?|stats?|statistics)\b/i,
  },
];

/**
 * The diagnoses an L2 ticket gets: every area whose words appear in its text, plus the diagnosis
 * capability L1's triage named (`escalation.route`); every area when nothing matched. In DIAGNOSES order.
 */
export function chooseDiagnoses(text: string, suggestedCapability?: string | null): Diagnosis[] {
  const chosen = DIAGNOSES.filter(
    (d) => d.signals.test(text) || (suggestedCapability && d.capability === suggestedCapability),
  );
  return chosen.length > 0 ? chosen : [...DIAGNOSES];
}

const answerSchema = z.object({
  resolved: z.boolean().default(false),
  confidence: z.number().min(0).max(1).default(0),
  answer: z.string().nullable().default(null),
  articlesUsed: z.array(z.string()).default([]),
  escalation: z
    .object({ reason: z.string().default(''), route: z.string().nullable().default(null) })
    .nullable()
    .default(null),
});
export type L1Answer = z.output<typeof answerSchema>;

const diagnosisSchema = z.object({
  likelyCauses: z.array(z.object({ cause: z.string(), fix: z.string().default('') })).default([]),
  escalate: z.boolean().default(true),
  escalateTo: z.string().nullable().default(null),
});
export type DiagnosisOutput = z.output<typeof diagnosisSchema>;

/** The JSON object an agent's output content holds, or null when it is not one. */
export function parseJsonObject(content: string | null | undefined): Record<string, unknown> | null {
  if (!content) return null;
  try {
    const value: unknown = JSON.parse(content);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** WowSupport's answer (agents/src/skills/capabilities/platform.ts `answerTicket`), or null if unreadable. */
export function parseAnswer(result: Record<string, unknown> | null): L1Answer | null {
  const parsed = answerSchema.safeParse(result);
  return parsed.success ? parsed.data : null;
}

/** A diagnosis agent's output (`diagnose(area)` in platform.ts), or null if unreadable. */
export function parseDiagnosis(result: Record<string, unknown> | null): DiagnosisOutput | null {
  const parsed = diagnosisSchema.safeParse(result);
  return parsed.success ? parsed.data : null;
}

export type L1Decision =
  | { kind: 'resolve'; answer: string; articleIds: string[]; confidence: number }
  | { kind: 'escalate'; code: 'LOW_CONFIDENCE' | 'AGENT_FAILED'; reason: string; route: string | null };

/** What L1's finished task means for the ticket. */
export function decideL1(
  work: Pick<WorkRecord, 'status' | 'result' | 'error'>,
  minConfidence: number,
): L1Decision {
  if (work.status !== 'COMPLETED')
    return {
      kind: 'escalate',
      code: 'AGENT_FAILED',
      reason: `WowSupport could not answer (task ${work.status}${work.error ? `: ${work.error}` : ''})`,
      route: null,
    };
  const answer = parseAnswer(work.result);
  if (!answer)
    return {
      kind: 'escalate',
      code: 'AGENT_FAILED',
      reason: "WowSupport's answer could not be read (not the JSON support.answer-ticket returns)",
      route: null,
    };
  const route = answer.escalation?.route ?? null;
  if (answer.resolved && answer.answer && answer.confidence >= minConfidence)
    return {
      kind: 'resolve',
      answer: answer.answer,
      articleIds: answer.articlesUsed,
      confidence: answer.confidence,
    };
  const why = answer.escalation?.reason ? `: ${answer.escalation.reason}` : '';
  return {
    kind: 'escalate',
    code: 'LOW_CONFIDENCE',
    reason: `WowSupport was not confident enough to answer (confidence ${answer.confidence}, needs ${minConfidence})${why}`,
    route,
  };
}

export type L2Decision =
  | { kind: 'resolve'; findings: FindingRecord[]; summary: string }
  | { kind: 'escalate'; code: 'NEEDS_EXPERT' | 'AGENT_FAILED'; reason: string; findings: FindingRecord[] };

/** The findings in one diagnosis task's output. */
export function findingsOf(work: Pick<WorkRecord, 'agentHandle' | 'capability' | 'result'>): FindingRecord[] {
  const output = parseDiagnosis(work.result);
  return (output?.likelyCauses ?? []).map((c) => ({
    agentHandle: work.agentHandle,
    capability: work.capability,
    cause: c.cause,
    fix: c.fix,
  }));
}

/**
 * L2's verdict once all its diagnosis tasks are final. Resolved with the findings only when every task
 * COMPLETED, every output says `escalate: false` and names at least one likely cause; otherwise L3
 * (AGENT_FAILED when a task did not complete, else NEEDS_EXPERT) with one reason per agent.
 */
export function decideL2(work: readonly WorkRecord[]): L2Decision {
  const findings = work.flatMap(findingsOf);
  const problems: string[] = [];
  let failed = false;
  for (const w of work) {
    if (w.status !== 'COMPLETED') {
      failed = true;
      problems.push(`${w.agentHandle}: task ${w.status}${w.error ? ` (${w.error})` : ''}`);
      continue;
    }
    const output = parseDiagnosis(w.result);
    if (!output) problems.push(`${w.agentHandle}: output could not be read`);
    else if (output.escalate || output.likelyCauses.length === 0)
      problems.push(`${w.agentHandle}: no likely cause found, asks for escalation`);
  }
  if (work.length > 0 && problems.length === 0) {
    const summary = [
      'Diagnosed by the CoE agents:',
      ...findings.map((f) => `- ${f.agentHandle}: ${f.cause}. Fix: ${f.fix}`),
    ].join('\n');
    return { kind: 'resolve', findings, summary };
  }
  return {
    kind: 'escalate',
    code: failed ? 'AGENT_FAILED' : 'NEEDS_EXPERT',
    reason: `L2 could not resolve it: ${problems.join('; ') || 'no diagnosis ran'}`,
    findings,
  };
}

const STOP = new Set(
  (
    'a an and are as at be by can do does for from has have how i if in into is it its me my no not of on or ' +
    'our so that the their them then there this to up us was we were what when where which who why will with ' +
    'you your please help get got since any all still'
  ).split(' '),
);

/** A crude stem, so "trials" matches "trial", "invoices" "invoice" and "rating" "rated". */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  let s = word.replace(/ies$/, 'y').replace(/sses$/, 'ss');
  if (s.length > 5) s = s.replace(/(ing|ed)$/, '');
  return s.replace(/([^s])s$/, '$1').replace(/e$/, '');
}

/** Content words of a text, stemmed, for deterministic matching. */
export function terms(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return new Set(words.filter((w) => w.length > 1 && !STOP.has(w)).map(stem));
}

export interface ArticleLike {
  _id: string;
  title: string;
  body: string;
  tags: string[];
}

/**
 * Scores articles against a question: shared terms, the title counting 3, tags 2 and the body 1.
 * Best first, ties by id; the same question and articles always give the same order.
 */
export function rankArticles<A extends ArticleLike>(question: string, articles: readonly A[]) {
  const q = terms(question);
  const shared = (text: string) => [...terms(text)].filter((t) => q.has(t)).length;
  return articles
    .map((article) => ({
      article,
      score: 3 * shared(article.title) + 2 * shared(article.tags.join(' ')) + shared(article.body),
    }))
    .sort((a, b) => b.score - a.score || a.article._id.localeCompare(b.article._id));
}

/**
 * The articles L1's agent receives: the best `max` candidates (all of them when there are no more),
 * each body cut to `maxBodyChars`, so the task stays small whatever the size of the knowledge base.
 */
export function selectArticles<A extends ArticleLike>(
  question: string,
  articles: readonly A[],
  max: number,
  maxBodyChars = 4000,
): { id: string; title: string; body: string; tags: string[] }[] {
  return rankArticles(question, articles)
    .slice(0, max)
    .map(({ article }) => ({
      id: article._id,
      title: article.title,
      body: article.body.slice(0, maxBodyChars),
      tags: article.tags,
    }));
}
