import { describeBusiness, readAsk } from '../common';
import type { BusinessContext, SkillAsk } from '../common';
import type { SkillRequest, SkillResult } from '../types';
import { SkillInputError } from '../types';

/** One capability's specific implementation: takes the whole request, returns the deliverable. */
export type CapabilityImpl = (request: SkillRequest) => SkillResult | Promise<SkillResult>;

/** A block of a markdown deliverable: a `##` heading and its lines, rendered as given. */
export interface Block {
  heading: string;
  lines: string[];
}

const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can do does did for from has have how i if in into is it its ' +
    'me my no not of on or our ours so than that the their them then there these they this those to ' +
    'up us was we were what when where which who why will with you your yours about after before ' +
    'all any also each just more most other over same some such too very should would could shall ' +
    'may might must own only both few again further once here out off under above below between ' +
    'through during while because until against am he she him her his hers itself themselves ' +
    'ourselves yourself yourselves myself whom s t get give make need want please find write plan build ' +
    'create check help new use using next last this best'
  ).split(' '),
);

/** Lower-cased word tokens (letters, digits, inner hyphens/apostrophes), so all text scoring agrees. */
export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*/gu) ?? []).map((t) =>
    t.replace(/'s$/, ''),
  );
}

/** Tokens that carry meaning (no stop-words, no bare numbers, at least 2 letters). */
export function contentWords(text: string): string[] {
  return tokenize(text).filter((t) => !STOP_WORDS.has(t) && !/^\d+$/.test(t) && t.length > 1);
}

/** Reduces a word to a crude stem so "articles" matches "article" and "invoicing" matches "invoice". */
export function stem(word: string): string {
  return word
    .replace(/(ies)$/, 'y')
    .replace(/(ing|ed|es|s)$/, '')
    .replace(/e$/, '');
}

/** The most frequent content words, ties broken alphabetically so the result is stable. */
export function topTerms(text: string, limit: number): { term: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const w of contentWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()]
    .map(([term, count]) => ({ term, count }))
    .sort((a, b) => b.count - a.count || a.term.localeCompare(b.term))
    .slice(0, limit);
}

/** Capitalises the first letter of each word, for titles built from free text. */
export function titleCase(text: string): string {
  return text.replace(/\b\p{L}/gu, (c) => c.toUpperCase());
}

/** Shortens text at a word boundary so it fits a length limit (titles, meta descriptions, ad copy). */
export function fit(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max + 1);
  const space = cut.lastIndexOf(' ');
  return (space > max / 2 ? cut.slice(0, space) : clean.slice(0, max)).replace(/[\s,;:.-]+$/, '');
}

/**
 * Reads an Indian-style amount from text ("50,000", "2 lakh", "1.5 crore", "Rs 9000", "10k"),
 * because customers state budgets in these forms.
 */
export function parseAmount(text: string): number | undefined {
  const m = /(\d+(?:,\d{2,3})*(?:\.\d+)?)\s*(lakh|lac|crore|cr|k|thousand)?\b/i.exec(text);
  if (!m || m[1] === undefined) return undefined;
  const base = Number(m[1].replace(/,/g, ''));
  const unit = (m[2] ?? '').toLowerCase();
  const factor =
    unit === 'lakh' || unit === 'lac'
      ? 100_000
      : unit === 'crore' || unit === 'cr'
        ? 10_000_000
        : unit === 'k' || unit === 'thousand'
          ? 1000
          : 1;
  return Math.round(base * factor);
}

/** Every number in a text, in order ("1,200" counts as 1200). */
export function numbersIn(text: string): number[] {
  return (text.match(/-?\d+(?:,\d{3})*(?:\.\d+)?/g) ?? []).map((n) => Number(n.replace(/,/g, '')));
}

/** The first integer followed by one of the words (e.g. "20 questions", "5-email"), else the fallback. */
export function countOf(text: string, words: string[], fallback: number, max = 100): number {
  const re = new RegExp(`(\\d+)[\\s-]*(?:${words.join('|')})`, 'i');
  const m = re.exec(text);
  const n = m?.[1] === undefined ? fallback : Number(m[1]);
  return Math.max(1, Math.min(max, n));
}

/** Formats a rupee amount with Indian digit grouping. */
export function inr(amount: number): string {
  return `INR ${Math.round(amount).toLocaleString('en-IN')}`;
}

/** Rounds to a fixed number of decimals without floating-point noise in the output. */
export function round(value: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Percentage of part in whole, rounded to one decimal (0 when whole is 0). */
export function pct(part: number, whole: number): number {
  return whole === 0 ? 0 : round((part / whole) * 100, 1);
}

/** A stable 32-bit hash of a string (FNV-1a), used to vary generated material by input, not by chance. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Adds days to a date (UTC) and returns YYYY-MM-DD, so schedules are computed from the task clock. */
export function addDays(from: Date, days: number): string {
  return new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

export const isoDate = (d: Date): string => d.toISOString().slice(0, 10);

/** Prefixes each line with "- " (markdown bullets). */
export const bullets = (lines: readonly string[]): string[] => lines.map((l) => `- ${l}`);

/** Numbers each line (markdown ordered list). */
export const numbered = (lines: readonly string[]): string[] => lines.map((l, i) => `${i + 1}. ${l}`);

/** Renders a markdown table from a header row and body rows. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  const cell = (v: string | number) => String(v).replace(/\|/g, '/');
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** Renders a deliverable: `# title`, one intro line, then `##` blocks (the shape every agent returns). */
export function renderMarkdown(title: string, intro: string, blocks: readonly Block[]): string {
  const body = blocks
    .filter((b) => b.lines.length > 0)
    .map((b) => [`## ${b.heading}`, '', ...b.lines].join('\n'));
  return (
    [`# ${title.replace(/\s+/g, ' ')}`, '', intro.replace(/\s+/g, ' '), '', body.join('\n\n')].join('\n') +
    '\n'
  );
}

/** Who the deliverable is for, from the ask's business context if any. */
export const forWhom = (business: BusinessContext | undefined): string =>
  business ? ` for ${describeBusiness(business)}` : '';

/** A markdown deliverable with the standard intro line (agent, customer, date, capability). */
export function markdownResult(
  request: SkillRequest,
  title: string,
  summary: string,
  blocks: readonly Block[],
  business?: BusinessContext,
): SkillResult {
  const { manifest, capability, context } = request;
  const intro = `Prepared by ${manifest.name}${forWhom(business)} on ${isoDate(context.now)} (${capability.name} ${capability.version}).`;
  return { format: 'text/markdown', title, content: renderMarkdown(title, intro, blocks), summary };
}

/** A JSON deliverable (platform agents), stamped with the agent, capability and task clock. */
export function jsonResult(
  request: SkillRequest,
  title: string,
  summary: string,
  body: Record<string, unknown>,
): SkillResult {
  const { manifest, capability, context } = request;
  const content = {
    agent: manifest.handle,
    capability: `${capability.name}@${capability.version}`,
    at: context.now.toISOString(),
    ...body,
  };
  return { format: 'application/json', title, summary, content: JSON.stringify(content, null, 2) };
}

/** Reads the ask of a request (string or `{ request, businessContext?, details? }`). */
export const askOf = (request: SkillRequest): SkillAsk => readAsk(request.input);

/** The text after the first colon of a request ("Optimise: <page text>"), if it is long enough to use. */
export function afterColon(text: string, min = 1): string | undefined {
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  const rest = text.slice(i + 1).trim();
  return rest.length >= min ? rest : undefined;
}

/** Text between the first pair of double quotes, if any. */
export function quoted(text: string): string | undefined {
  return /["\u201c]([^"\u201d]+)["\u201d]/.exec(text)?.[1]?.trim();
}

/** A string field of details, if present and non-empty. */
export function detailString(details: Record<string, unknown>, key: string): string | undefined {
  const v = details[key];
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** A number field of details (a numeric string counts), if present. */
export function detailNumber(details: Record<string, unknown>, key: string): number | undefined {
  const v = details[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** A string-list field of details (a comma-separated string counts). */
export function detailList(details: Record<string, unknown>, key: string): string[] {
  const v = details[key];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.trim() !== '');
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return [];
}

/** An array-of-objects field of details, each item a plain record; throws if it is there but malformed. */
export function detailRecords(details: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const v = details[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x)))
    throw new SkillInputError(`details.${key} must be a list of objects`);
  return v as Record<string, unknown>[];
}

/** Reads a field of a record as a string ('' when absent). */
export const str = (r: Record<string, unknown>, key: string): string => {
  const v = r[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
};

/** Reads a field of a record as a number (NaN-safe: undefined when absent or not numeric). */
export const num = (r: Record<string, unknown>, key: string): number | undefined => {
  const v = r[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};

/** Jaccard-style overlap of two token sets in [0, 1], on stems, for deterministic relevance scores. */
export function overlap(query: readonly string[], doc: readonly string[]): number {
  const q = new Set(query.map(stem));
  if (q.size === 0) return 0;
  const d = new Set(doc.map(stem));
  let hits = 0;
  for (const t of q) if (d.has(t)) hits++;
  return hits / q.size;
}
