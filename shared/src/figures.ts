import { badUserInput } from './errors';

/*
 * Arithmetic the business figures of several subgraphs share (marketplace's funnel, revenue and
 * customer view, orchestration's run times, discovery's breaker trips): one definition of a rate, a
 * percentile and a reporting window, so the parts the gateway joins into one answer agree.
 */

const DAY_MS = 86_400_000;

/**
 * The value at quantile `q` (0..1) of ascending `sorted` numbers, by nearest rank: the smallest value
 * with at least q of the values at or below it (p50 of [1, 2, 3, 4] is 2, p95 of 1..20 is 19). It is
 * always one of the values, so a run time percentile is a run time that happened. Null when empty.
 */
export function nearestRank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `part / whole` rounded to `digits` decimals; null when there is nothing to divide by. */
export function ratio(part: number, whole: number, digits = 4): number | null {
  return whole === 0 ? null : Number((part / whole).toFixed(digits));
}

/** The mean of `values` rounded to `digits` decimals; null when empty. */
export function mean(values: readonly number[], digits = 1): number | null {
  if (values.length === 0) return null;
  return Number((values.reduce((s, v) => s + v, 0) / values.length).toFixed(digits));
}

/** A reporting window: what happened at or after `since` and before `until`. */
export interface FiguresWindow {
  since: Date;
  until: Date;
}

export interface WindowBounds {
  /** The window's length when `since` is not given. */
  defaultDays: number;
  /** The longest window one query may ask for: it bounds the documents a figure reads. */
  maxDays: number;
}

/** A DateTime argument or entity key field (a Date from the scalar, a string from a representation). */
export function asDateTime(value: Date | string | null | undefined, field: string): Date | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw badUserInput(`${field} is not a date-time`, { field });
  return date;
}

/**
 * The window a figures query covers: `until` defaults to now, `since` to `defaultDays` before it.
 * BAD_USER_INPUT (naming the field) when `since` is not before `until` or the window is longer than
 * `maxDays`, so no query reads an unbounded history.
 */
export function figuresWindow(
  args: { since?: Date | string | null; until?: Date | string | null },
  now: Date,
  bounds: WindowBounds,
): FiguresWindow {
  const until = asDateTime(args.until, 'until') ?? now;
  const since = asDateTime(args.since, 'since') ?? new Date(until.getTime() - bounds.defaultDays * DAY_MS);
  if (since.getTime() >= until.getTime())
    throw badUserInput('since must be before until', { field: 'since' });
  if (until.getTime() - since.getTime() > bounds.maxDays * DAY_MS)
    throw badUserInput(`The window may be at most ${bounds.maxDays} days long; ask for a shorter one`, {
      field: 'since',
      maxDays: bounds.maxDays,
    });
  return { since, until };
}

/** The windows every figures query takes: 30 days unless told, a year and a day at most. */
export const FIGURES_WINDOW: WindowBounds = { defaultDays: 30, maxDays: 366 };
