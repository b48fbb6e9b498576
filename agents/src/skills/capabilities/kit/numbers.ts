// Amounts, counts, percentages and dates as the capabilities read them from text and print them.

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

/** Adds days to a date (UTC) and returns YYYY-MM-DD, so schedules are computed from the task clock. */
export function addDays(from: Date, days: number): string {
  return new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

export const isoDate = (d: Date): string => d.toISOString().slice(0, 10);
