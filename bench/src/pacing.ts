/**
 * Offered load as a cumulative schedule: how many tasks should have been submitted `t` ms after the
 * scenario began. The pacer sends the difference between that and what it sent so far at each tick,
 * so timer jitter and slow sends never change the offered rate, only when within a tick a task leaves.
 */
export interface LoadProfile {
  /** Total tasks the profile offers. */
  total: number;
  /** Length of the offered phase in ms (bursts: when the last one starts). */
  durationMs: number;
  /** Tasks due at `t` ms after the start (non-decreasing, at most `total`). */
  dueAt(t: number): number;
  /** The offered rate at `t` in tasks/s (for steps and reports). */
  rateAt(t: number): number;
}

/** `rate` tasks/s for `durationMs`. */
export function constantRate(rate: number, durationMs: number): LoadProfile {
  const total = Math.floor((rate * durationMs) / 1000);
  return {
    total,
    durationMs,
    dueAt: (t) => Math.min(total, Math.max(0, Math.floor((rate * t) / 1000))),
    rateAt: (t) => (t >= 0 && t < durationMs ? rate : 0),
  };
}

/**
 * `rate` tasks/s until stop() is called (the chaos run's load lasts as long as its faults take):
 * `total` is unbounded until then, and afterwards what was due at the stop.
 */
export function untilStopped(rate: number, expectedMs: number): LoadProfile & { stop(atMs: number): void } {
  let total = Number.POSITIVE_INFINITY;
  const due = (t: number) => Math.max(0, Math.floor((rate * t) / 1000));
  return {
    get total() {
      return total;
    },
    durationMs: expectedMs,
    dueAt: (t) => Math.min(total, due(t)),
    rateAt: (t) => (t >= 0 && due(t) < total ? rate : 0),
    stop(atMs: number) {
      total = Math.min(total, due(atMs));
    },
  };
}

/** One step of a ramp: `rate` tasks/s held for `durationMs`. */
export interface RampStep {
  rate: number;
  durationMs: number;
}

/** Steps raising the rate from `from` by `step` up to `to` (inclusive), each held `holdMs`. */
export function rampSteps(from: number, to: number, step: number, holdMs: number): RampStep[] {
  if (!(from > 0 && to >= from && step > 0)) throw new Error('a ramp needs 0 < from <= to and step > 0');
  const steps: RampStep[] = [];
  for (let rate = from; rate <= to; rate += step) steps.push({ rate, durationMs: holdMs });
  return steps;
}

/** Consecutive constant-rate steps. */
export function steppedRate(steps: readonly RampStep[]): LoadProfile {
  const starts: number[] = [];
  const before: number[] = [];
  let at = 0;
  let count = 0;
  for (const s of steps) {
    starts.push(at);
    before.push(count);
    at += s.durationMs;
    count += Math.floor((s.rate * s.durationMs) / 1000);
  }
  const stepAt = (t: number) => {
    for (let i = steps.length - 1; i >= 0; i--) if (t >= starts[i]!) return i;
    return -1;
  };
  return {
    total: count,
    durationMs: at,
    dueAt(t) {
      if (t >= at) return count;
      const i = stepAt(t);
      if (i < 0) return 0;
      const s = steps[i]!;
      return (
        before[i]! +
        Math.min(Math.floor((s.rate * s.durationMs) / 1000), Math.floor((s.rate * (t - starts[i]!)) / 1000))
      );
    },
    rateAt(t) {
      const i = stepAt(t);
      return i < 0 || t >= at ? 0 : steps[i]!.rate;
    },
  };
}

/** `count` bursts of `size` tasks, `gapMs` apart, each submitted at once. */
export function bursts(count: number, size: number, gapMs: number): LoadProfile {
  return {
    total: count * size,
    durationMs: (count - 1) * gapMs,
    dueAt: (t) => (t < 0 ? 0 : Math.min(count, Math.floor(t / gapMs) + 1) * size),
    rateAt: () => NaN,
  };
}

/**
 * At most `window` tasks in flight for `durationMs`, offered as fast as the platform takes them:
 * whenever one settles (`settled()` counts those with a final status or refused) the next is due.
 * Measures the most a platform does with a bounded backlog rather than at a rate chosen beforehand.
 * `total` is unbounded until the offered phase ends, then what was due by then.
 */
export function inFlightWindow(window: number, durationMs: number, settled: () => number): LoadProfile {
  if (!(window >= 1)) throw new Error('an in-flight window needs at least one task');
  let total = Number.POSITIVE_INFINITY;
  let due = 0;
  return {
    get total() {
      return total;
    },
    durationMs,
    dueAt(t) {
      if (t < 0) return 0;
      if (t >= durationMs) total = Math.min(total, due);
      else due = Math.max(due, settled() + window);
      return Math.min(total, due);
    },
    rateAt: () => NaN,
  };
}

/** Which step of `steps` a moment `t` ms after the start falls in (-1 before, steps.length after). */
export function stepIndex(steps: readonly RampStep[], t: number): number {
  if (t < 0) return -1;
  let at = 0;
  for (let i = 0; i < steps.length; i++) {
    at += steps[i]!.durationMs;
    if (t < at) return i;
  }
  return steps.length;
}
