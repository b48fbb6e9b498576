import {
  acquireBreaker,
  advanceBreaker,
  BREAKER_PRESETS,
  breakerRates,
  initialBreaker,
  recordCall,
  resetBreaker,
  validateBreakerConfig,
} from './circuit-breaker';
import type { BreakerSnapshot, CircuitBreakerConfig } from './circuit-breaker';

const config: CircuitBreakerConfig = {
  window: { type: 'COUNT', size: 10 },
  minimumCalls: 4,
  failureRateThreshold: 0.5,
  slowCallRateThreshold: 0.5,
  slowCallDurationMs: 1000,
  openDurationMs: 5000,
  halfOpenTrialCalls: 2,
};

const ok = { failed: false, durationMs: 10 };
const fail = { failed: true, durationMs: 10 };
const slow = { failed: false, durationMs: 1500 };

/** Feeds calls one per ms from `start`, returning the final snapshot and every transition seen. */
function feed(
  s: BreakerSnapshot,
  calls: { failed: boolean; durationMs: number }[],
  start: number,
  c = config,
) {
  const transitions: string[] = [];
  calls.forEach((call, i) => {
    const step = recordCall(s, c, call, start + i);
    s = step.snapshot;
    if (step.transition)
      transitions.push(`${step.transition.from}->${step.transition.to}: ${step.transition.reason}`);
  });
  return { snapshot: s, transitions };
}

function opened(now = 0): BreakerSnapshot {
  const s = feed(initialBreaker(now), [fail, fail, fail, fail], now).snapshot;
  expect(s.state).toBe('OPEN');
  return s;
}

describe('circuit breaker', () => {
  it('does not judge rates before minimumCalls', () => {
    const { snapshot, transitions } = feed(initialBreaker(0), [fail, fail, fail], 0);
    expect(snapshot.state).toBe('CLOSED');
    expect(transitions).toEqual([]);
  });

  it('opens when the failure rate reaches the threshold', () => {
    const before = feed(initialBreaker(0), [ok, ok, ok, fail, ok, fail, fail], 0);
    expect(before.snapshot.state).toBe('CLOSED'); // 3 of 7 = 43%
    const after = feed(before.snapshot, [fail], 100);
    expect(after.snapshot).toMatchObject({ state: 'OPEN', since: 100, calls: [] });
    expect(after.transitions).toEqual(['CLOSED->OPEN: failure rate 50% >= 50% over 8 calls']);
  });

  it('opens when the slow-call rate reaches the threshold', () => {
    const { snapshot, transitions } = feed(initialBreaker(0), [ok, slow, ok, slow], 0);
    expect(snapshot.state).toBe('OPEN');
    expect(transitions).toEqual(['CLOSED->OPEN: slow call rate 50% >= 50% over 4 calls']);
  });

  it('rejects calls while OPEN and ignores results of calls started before it opened', () => {
    const s = opened();
    expect(acquireBreaker(s, config, 4000).allowed).toBe(false);
    const late = recordCall(s, config, ok, 4000);
    expect(late).toEqual({ snapshot: s, transition: null });
  });

  it('goes HALF_OPEN after openDurationMs and lets exactly halfOpenTrialCalls through', () => {
    const s = opened(0);
    expect(advanceBreaker(s, config, 5002).transition).toBeNull();
    const half = advanceBreaker(s, config, 5003);
    expect(half.snapshot.state).toBe('HALF_OPEN');
    expect(half.transition).toMatchObject({ from: 'OPEN', to: 'HALF_OPEN', at: 5003 });

    const first = acquireBreaker(s, config, 5003);
    expect(first).toMatchObject({ allowed: true, transition: { to: 'HALF_OPEN' } });
    const second = acquireBreaker(first.snapshot, config, 5004);
    expect(second).toMatchObject({ allowed: true, transition: null });
    const third = acquireBreaker(second.snapshot, config, 5005);
    expect(third.allowed).toBe(false);
    expect(third.snapshot.trialsIssued).toBe(2);
  });

  it('closes when every trial call succeeds', () => {
    let s = advanceBreaker(opened(0), config, 6000).snapshot;
    s = acquireBreaker(s, config, 6000).snapshot;
    s = acquireBreaker(s, config, 6000).snapshot;
    const one = recordCall(s, config, ok, 6001);
    expect(one.snapshot.state).toBe('HALF_OPEN');
    const two = recordCall(one.snapshot, config, ok, 6002);
    expect(two.snapshot).toEqual({
      state: 'CLOSED',
      since: 6002,
      calls: [],
      trialsIssued: 0,
      trialResults: [],
    });
    expect(two.transition).toMatchObject({ from: 'HALF_OPEN', to: 'CLOSED' });
    expect(acquireBreaker(two.snapshot, config, 6003).allowed).toBe(true);
  });

  it('reopens with a fresh since when a trial call fails or is slow', () => {
    let s = advanceBreaker(opened(0), config, 6000).snapshot;
    s = acquireBreaker(s, config, 6000).snapshot;
    const failed = recordCall(s, config, fail, 6500);
    expect(failed.snapshot).toMatchObject({ state: 'OPEN', since: 6500 });
    expect(failed.transition).toEqual({
      from: 'HALF_OPEN',
      to: 'OPEN',
      at: 6500,
      reason: 'trial call failed',
    });
    expect(acquireBreaker(failed.snapshot, config, 11_499).allowed).toBe(false);
    expect(acquireBreaker(failed.snapshot, config, 11_500).allowed).toBe(true);

    const slowTrial = recordCall(s, config, slow, 6500);
    expect(slowTrial.transition).toMatchObject({ to: 'OPEN', reason: 'trial call slow: 1500 ms >= 1000 ms' });
  });

  it('ignores results in HALF_OPEN when no trial call is outstanding', () => {
    const half = advanceBreaker(opened(0), config, 6000).snapshot;
    expect(recordCall(half, config, fail, 6001)).toEqual({ snapshot: half, transition: null });
  });

  it('keeps only the last N calls in a COUNT window', () => {
    const { snapshot } = feed(
      initialBreaker(0),
      [...Array<typeof ok>(10).fill(ok), fail, fail, fail, fail],
      0,
    );
    expect(snapshot.state).toBe('CLOSED'); // 4 of the last 10
    expect(snapshot.calls).toHaveLength(10);
    expect(snapshot.calls.filter((c) => c.failed)).toHaveLength(4);
    // Five failures are 5 of 15 (33%) over all calls, but 5 of the last 10: old successes do not dilute them.
    const more = feed(snapshot, [fail], 100);
    expect(more.transitions).toEqual(['CLOSED->OPEN: failure rate 50% >= 50% over 10 calls']);
  });

  it('forgets calls older than a TIME window', () => {
    const timed: CircuitBreakerConfig = { ...config, window: { type: 'TIME', seconds: 10 } };
    const early = feed(initialBreaker(0), [fail, fail, fail], 0, timed).snapshot;
    expect(breakerRates(early, timed, 5).failureRate).toBe(1);
    // 20 s later the three failures have aged out; one more failure among successes does not open it.
    const later = feed(early, [ok, ok, ok, fail], 20_000, timed);
    expect(later.snapshot.state).toBe('CLOSED');
    expect(later.snapshot.calls).toHaveLength(4);
    expect(breakerRates(later.snapshot, timed, 20_003)).toEqual({
      calls: 4,
      failureRate: 0.25,
      slowCallRate: 0,
    });
    expect(breakerRates(later.snapshot, timed, 40_000)).toEqual({
      calls: 0,
      failureRate: 0,
      slowCallRate: 0,
    });
  });

  it('resets to CLOSED with an empty window', () => {
    expect(resetBreaker(42)).toEqual({
      state: 'CLOSED',
      since: 42,
      calls: [],
      trialsIssued: 0,
      trialResults: [],
    });
  });

  it('has the documented presets, which pass validation', () => {
    expect(BREAKER_PRESETS.AGGRESSIVE).toEqual({
      window: { type: 'COUNT', size: 20 },
      minimumCalls: 5,
      failureRateThreshold: 0.3,
      slowCallRateThreshold: 0.5,
      slowCallDurationMs: 2000,
      openDurationMs: 10_000,
      halfOpenTrialCalls: 3,
    });
    expect(BREAKER_PRESETS.CONSERVATIVE).toEqual({
      window: { type: 'TIME', seconds: 60 },
      minimumCalls: 10,
      failureRateThreshold: 0.7,
      slowCallRateThreshold: 0.8,
      slowCallDurationMs: 10_000,
      openDurationMs: 60_000,
      halfOpenTrialCalls: 5,
    });
    expect(validateBreakerConfig(BREAKER_PRESETS.AGGRESSIVE)).toEqual([]);
    expect(validateBreakerConfig(BREAKER_PRESETS.CONSERVATIVE)).toEqual([]);
  });

  it('reports bad configs in words', () => {
    const problems = validateBreakerConfig({
      ...config,
      window: { type: 'COUNT', size: 2.5 },
      failureRateThreshold: 0,
      slowCallRateThreshold: 1.5,
      openDurationMs: -1,
      halfOpenTrialCalls: 0,
    });
    expect(problems).toEqual([
      'window.size must be a positive integer (got 2.5)',
      'window.size (2.5) must be >= minimumCalls (4)',
      'failureRateThreshold must be in (0, 1] (got 0)',
      'slowCallRateThreshold must be in (0, 1] (got 1.5)',
      'openDurationMs must be a positive number (got -1)',
      'halfOpenTrialCalls must be a positive integer (got 0)',
    ]);
  });

  it('works on snapshots round-tripped through JSON, and never mutates its input', () => {
    const deepFreeze = (s: BreakerSnapshot): BreakerSnapshot => {
      s.calls.forEach((c) => Object.freeze(c));
      s.trialResults.forEach((c) => Object.freeze(c));
      Object.freeze(s.calls);
      Object.freeze(s.trialResults);
      return Object.freeze(s);
    };
    const roundTrip = (s: BreakerSnapshot): BreakerSnapshot =>
      deepFreeze(JSON.parse(JSON.stringify(s)) as BreakerSnapshot);

    let s = roundTrip(initialBreaker(0));
    for (const [i, call] of [ok, fail, fail, fail].entries()) {
      const before = JSON.stringify(s);
      const next = recordCall(s, config, call, i).snapshot;
      expect(JSON.stringify(s)).toBe(before);
      s = roundTrip(next);
    }
    expect(s.state).toBe('OPEN');
    s = roundTrip(acquireBreaker(s, config, 9000).snapshot);
    expect(s).toMatchObject({ state: 'HALF_OPEN', trialsIssued: 1 });
    s = roundTrip(acquireBreaker(s, config, 9000).snapshot);
    s = roundTrip(recordCall(s, config, ok, 9001).snapshot);
    s = roundTrip(recordCall(s, config, ok, 9002).snapshot);
    expect(s.state).toBe('CLOSED');
  });
});
