/**
 * A per-instance circuit breaker as a pure state machine over a plain JSON snapshot. Domain logic we
 * own: no library models our health/breaker/selection rules, and the breaker libraries keep their state
 * in process memory, while ours must live in MongoDB and be shared by every replica that dispatches.
 */
import type { CircuitState } from './types';

export type SlidingWindow = { type: 'COUNT'; size: number } | { type: 'TIME'; seconds: number };

export interface CircuitBreakerConfig {
  window: SlidingWindow;
  /** Calls the window must hold before rates are judged. */
  minimumCalls: number;
  /** Opens when failed/total >= this (0..1). */
  failureRateThreshold: number;
  /** Opens when slow/total >= this (0..1). */
  slowCallRateThreshold: number;
  /** A call at least this long counts as slow. */
  slowCallDurationMs: number;
  /** How long OPEN lasts before trial calls are let through (HALF_OPEN). */
  openDurationMs: number;
  /** Trial calls HALF_OPEN lets through; when all have reported, it closes or reopens. */
  halfOpenTrialCalls: number;
}

/** From the product's design notes: user-facing APIs trip fast, batch work tolerates retries. */
export const BREAKER_PRESETS: { AGGRESSIVE: CircuitBreakerConfig; CONSERVATIVE: CircuitBreakerConfig } = {
  AGGRESSIVE: {
    window: { type: 'COUNT', size: 20 },
    minimumCalls: 5,
    failureRateThreshold: 0.3,
    slowCallRateThreshold: 0.5,
    slowCallDurationMs: 2000,
    openDurationMs: 10_000,
    halfOpenTrialCalls: 3,
  },
  CONSERVATIVE: {
    window: { type: 'TIME', seconds: 60 },
    minimumCalls: 10,
    failureRateThreshold: 0.7,
    slowCallRateThreshold: 0.8,
    slowCallDurationMs: 10_000,
    openDurationMs: 60_000,
    halfOpenTrialCalls: 5,
  },
};

export interface CallRecord {
  at: number;
  failed: boolean;
  slow: boolean;
}

export interface BreakerSnapshot {
  state: CircuitState;
  /** When the current state began (ms epoch). */
  since: number;
  /** Calls in the sliding window (CLOSED), oldest first. */
  calls: CallRecord[];
  /** HALF_OPEN: trial calls handed out and trial calls that reported. */
  trialsIssued: number;
  trialResults: CallRecord[];
}

export interface BreakerTransition {
  from: CircuitState;
  to: CircuitState;
  at: number;
  reason: string;
}

interface Step {
  snapshot: BreakerSnapshot;
  transition: BreakerTransition | null;
}

const percent = (rate: number): string => `${Number((rate * 100).toFixed(1))}%`;

function enter(s: BreakerSnapshot, to: CircuitState, now: number, reason: string): Step {
  return {
    snapshot: { state: to, since: now, calls: [], trialsIssued: 0, trialResults: [] },
    transition: { from: s.state, to, at: now, reason },
  };
}

/** Only calls inside the window count; a TIME window also ages out while no call arrives. */
function inWindow(calls: readonly CallRecord[], window: SlidingWindow, now: number): CallRecord[] {
  if (window.type === 'COUNT') return calls.slice(-window.size);
  const oldest = now - window.seconds * 1000;
  return calls.filter((c) => c.at >= oldest);
}

/** A fresh instance starts trusted: it has done nothing wrong yet. */
export function initialBreaker(now: number): BreakerSnapshot {
  return { state: 'CLOSED', since: now, calls: [], trialsIssued: 0, trialResults: [] };
}

/**
 * OPEN past openDurationMs becomes HALF_OPEN. Done lazily rather than by a timer because the snapshot is
 * data in MongoDB: whoever reads it next moves it on. Call before reading state.
 */
export function advanceBreaker(s: BreakerSnapshot, config: CircuitBreakerConfig, now: number): Step {
  if (s.state !== 'OPEN' || now - s.since < config.openDurationMs) return { snapshot: s, transition: null };
  return enter(
    s,
    'HALF_OPEN',
    now,
    `open for ${config.openDurationMs} ms: trying ${config.halfOpenTrialCalls} calls`,
  );
}

/**
 * The gate before dispatch. HALF_OPEN hands out a fixed number of trial calls, so a recovering instance
 * is probed by a few calls instead of the whole backlog; the count lives in the returned snapshot.
 */
export function acquireBreaker(
  s: BreakerSnapshot,
  config: CircuitBreakerConfig,
  now: number,
): { allowed: boolean; snapshot: BreakerSnapshot; transition: BreakerTransition | null } {
  const { snapshot, transition } = advanceBreaker(s, config, now);
  if (snapshot.state === 'CLOSED') return { allowed: true, snapshot, transition };
  if (snapshot.state === 'HALF_OPEN' && snapshot.trialsIssued < config.halfOpenTrialCalls) {
    return { allowed: true, snapshot: { ...snapshot, trialsIssued: snapshot.trialsIssued + 1 }, transition };
  }
  return { allowed: false, snapshot, transition };
}

/**
 * Feeds a finished call into the state machine: the window's failure and slow-call rates trip a CLOSED
 * breaker, and the trial calls decide a HALF_OPEN one. Results that arrive while OPEN, or in HALF_OPEN
 * with no trial outstanding, come from calls started before the breaker opened and say nothing about
 * recovery, so they are ignored.
 */
export function recordCall(
  s: BreakerSnapshot,
  config: CircuitBreakerConfig,
  call: { failed: boolean; durationMs: number },
  now: number,
): Step {
  const advanced = advanceBreaker(s, config, now);
  const cur = advanced.snapshot;
  const record: CallRecord = {
    at: now,
    failed: call.failed,
    slow: call.durationMs >= config.slowCallDurationMs,
  };

  if (cur.state === 'CLOSED') {
    const calls = inWindow([...cur.calls, record], config.window, now);
    const { failureRate, slowCallRate } = rates(calls);
    const over = `over ${calls.length} calls`;
    if (calls.length >= config.minimumCalls && failureRate >= config.failureRateThreshold) {
      const reason = `failure rate ${percent(failureRate)} >= ${percent(config.failureRateThreshold)} ${over}`;
      return enter(cur, 'OPEN', now, reason);
    }
    if (calls.length >= config.minimumCalls && slowCallRate >= config.slowCallRateThreshold) {
      const reason = `slow call rate ${percent(slowCallRate)} >= ${percent(config.slowCallRateThreshold)} ${over}`;
      return enter(cur, 'OPEN', now, reason);
    }
    return { snapshot: { ...cur, calls }, transition: advanced.transition };
  }

  if (cur.state === 'HALF_OPEN' && cur.trialResults.length < cur.trialsIssued) {
    if (record.failed) return enter(cur, 'OPEN', now, 'trial call failed');
    if (record.slow) {
      return enter(
        cur,
        'OPEN',
        now,
        `trial call slow: ${call.durationMs} ms >= ${config.slowCallDurationMs} ms`,
      );
    }
    const trialResults = [...cur.trialResults, record];
    if (trialResults.length >= config.halfOpenTrialCalls) {
      return enter(cur, 'CLOSED', now, `${trialResults.length} trial calls succeeded`);
    }
    return { snapshot: { ...cur, trialResults }, transition: advanced.transition };
  }

  return advanced;
}

/** Operator override, e.g. after a fix is deployed and nobody wants to wait out openDurationMs. */
export function resetBreaker(now: number): BreakerSnapshot {
  return initialBreaker(now);
}

function rates(calls: readonly CallRecord[]): { calls: number; failureRate: number; slowCallRate: number } {
  if (calls.length === 0) return { calls: 0, failureRate: 0, slowCallRate: 0 };
  const failed = calls.filter((c) => c.failed).length;
  const slow = calls.filter((c) => c.slow).length;
  return { calls: calls.length, failureRate: failed / calls.length, slowCallRate: slow / calls.length };
}

/** For dashboards: the figures the breaker judges by, with a TIME window aged to `now`. */
export function breakerRates(
  s: BreakerSnapshot,
  config: CircuitBreakerConfig,
  now: number,
): { calls: number; failureRate: number; slowCallRate: number } {
  return rates(inWindow(s.calls, config.window, now));
}

/**
 * Configs are edited by operators and stored, so they are checked before use rather than trusted; a bad
 * one (a threshold of 0, a COUNT window smaller than minimumCalls) would silently never or always trip.
 */
export function validateBreakerConfig(c: CircuitBreakerConfig): string[] {
  const problems: string[] = [];
  const positiveInteger = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v <= 0) problems.push(`${name} must be a positive integer (got ${v})`);
  };
  const positive = (name: string, v: number): void => {
    if (!Number.isFinite(v) || v <= 0) problems.push(`${name} must be a positive number (got ${v})`);
  };
  const rate = (name: string, v: number): void => {
    if (!(v > 0 && v <= 1)) problems.push(`${name} must be in (0, 1] (got ${v})`);
  };
  if (c.window.type === 'COUNT') {
    positiveInteger('window.size', c.window.size);
    if (c.window.size < c.minimumCalls) {
      problems.push(`window.size (${c.window.size}) must be >= minimumCalls (${c.minimumCalls})`);
    }
  } else {
    positive('window.seconds', c.window.seconds);
  }
  positiveInteger('minimumCalls', c.minimumCalls);
  rate('failureRateThreshold', c.failureRateThreshold);
  rate('slowCallRateThreshold', c.slowCallRateThreshold);
  positive('slowCallDurationMs', c.slowCallDurationMs);
  positive('openDurationMs', c.openDurationMs);
  positiveInteger('halfOpenTrialCalls', c.halfOpenTrialCalls);
  return problems;
}
