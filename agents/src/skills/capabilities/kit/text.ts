// Word-level helpers the capabilities share: tokens, stems, term counts, titles and snippets of free text.

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

/** A stable 32-bit hash of a string (FNV-1a), used to vary generated material by input, not by chance. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Jaccard-style overlap of two token sets in [0, 1], on stems, for deterministic relevance scores. */
export function overlap(query: readonly string[], doc: readonly string[]): number {
  const q = new Set(query.map(stem));
  if (q.size === 0) return 0;
  const d = new Set(doc.map(stem));
  let hits = 0;
  for (const t of q) if (d.has(t)) hits++;
  return hits / q.size;
}
