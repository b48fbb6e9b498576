import {
  aggregateHealth,
  classifyHealth,
  DEFAULT_HEALTH_THRESHOLDS as T,
  initialHealth,
  markHealthUnknown,
  observeHealth,
  validateHealthThresholds,
} from './health';
import type { HealthObservation, HealthSnapshot } from './health';

const good: HealthObservation = { latencyMs: 100, errorRate: 0 };
const slow: HealthObservation = { latencyMs: 1200, errorRate: 0 };
const bad: HealthObservation = { latencyMs: 100, errorRate: 0.62 };

/** Applies observations one per second, returning the states after each and the transitions. */
function run(s: HealthSnapshot, observations: HealthObservation[], start = 1000) {
  const states: string[] = [];
  const transitions: string[] = [];
  observations.forEach((o, i) => {
    const step = observeHealth(s, o, T, start + i * 1000);
    s = step.snapshot;
    states.push(s.state);
    if (step.transition) transitions.push(`${step.transition.from}->${step.transition.to}`);
  });
  return { snapshot: s, states, transitions };
}

const healthy = (): HealthSnapshot => run(initialHealth(0), [good]).snapshot;

describe('instance health', () => {
  it('classifies an observation and names the figure in the reason', () => {
    expect(classifyHealth(good, T)).toEqual({ state: 'HEALTHY', reason: 'within thresholds' });
    expect(classifyHealth(slow, T)).toEqual({ state: 'DEGRADED', reason: 'latency 1200 ms >= 1000 ms' });
    expect(classifyHealth(bad, T)).toEqual({ state: 'UNHEALTHY', reason: 'error rate 62% >= 50%' });
    expect(classifyHealth({ latencyMs: 6000, errorRate: 0.2 }, T)).toEqual({
      state: 'UNHEALTHY',
      reason: 'latency 6000 ms >= 5000 ms',
    });
    expect(classifyHealth({ ...good, selfReportedUnhealthy: true }, T).state).toBe('UNHEALTHY');
  });

  it('adopts the first verdict at once from UNKNOWN', () => {
    const s = initialHealth(0);
    expect(s).toEqual({
      state: 'UNKNOWN',
      since: 0,
      reason: 'registered, no observation yet',
      pending: null,
    });
    const step = observeHealth(s, slow, T, 500);
    expect(step.snapshot).toEqual({
      state: 'DEGRADED',
      since: 500,
      reason: 'latency 1200 ms >= 1000 ms',
      pending: null,
    });
    expect(step.transition).toEqual({
      from: 'UNKNOWN',
      to: 'DEGRADED',
      at: 500,
      reason: 'latency 1200 ms >= 1000 ms',
    });
  });

  it('does not flap a HEALTHY instance on a single bad observation', () => {
    const { states, snapshot } = run(healthy(), [bad, good, bad]);
    expect(states).toEqual(['HEALTHY', 'HEALTHY', 'HEALTHY']);
    expect(snapshot.pending).toEqual({ state: 'UNHEALTHY', count: 1 });
  });

  it('worsens after worsenAfter consecutive bad observations', () => {
    const { states, transitions, snapshot } = run(healthy(), [bad, bad]);
    expect(states).toEqual(['HEALTHY', 'UNHEALTHY']);
    expect(transitions).toEqual(['HEALTHY->UNHEALTHY']);
    expect(snapshot.reason).toBe('error rate 62% >= 50% (2 consecutive observations)');
  });

  it('recovers only after improveAfter consecutive good observations', () => {
    const sick = run(healthy(), [bad, bad]).snapshot;
    const { states, transitions } = run(sick, [good, good, bad, good, good, good]);
    expect(states).toEqual(['UNHEALTHY', 'UNHEALTHY', 'UNHEALTHY', 'UNHEALTHY', 'UNHEALTHY', 'HEALTHY']);
    expect(transitions).toEqual(['UNHEALTHY->HEALTHY']);
  });

  it('never changes state on alternating good and bad observations', () => {
    const alternating = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? bad : good));
    expect(run(healthy(), alternating).transitions).toEqual([]);
  });

  it('counts worse verdicts together and moves to the mildest of them', () => {
    // DEGRADED, UNHEALTHY, DEGRADED ... is consistently worse than HEALTHY: it must not stay HEALTHY.
    const mixed = run(healthy(), [slow, bad]);
    expect(mixed.states).toEqual(['HEALTHY', 'DEGRADED']);
    expect(mixed.transitions).toEqual(['HEALTHY->DEGRADED']);
    expect(run(healthy(), [bad, bad]).transitions).toEqual(['HEALTHY->UNHEALTHY']);
    // A good observation in between restarts the count.
    expect(run(healthy(), [slow, good, bad]).states).toEqual(['HEALTHY', 'HEALTHY', 'HEALTHY']);
  });

  it('recovers only as far as the worst of the better verdicts', () => {
    const unhealthy = run(healthy(), [bad, bad]).snapshot;
    const { transitions } = run(unhealthy, [good, slow, good]);
    expect(transitions).toEqual(['UNHEALTHY->DEGRADED']);
  });

  it('believes an instance that reports itself unhealthy at once', () => {
    const step = observeHealth(healthy(), { ...good, selfReportedUnhealthy: true }, T, 9000);
    expect(step.snapshot).toMatchObject({
      state: 'UNHEALTHY',
      reason: 'self-reported unhealthy',
      pending: null,
    });
    expect(step.transition).toMatchObject({ from: 'HEALTHY', to: 'UNHEALTHY' });
  });

  it('goes UNKNOWN at once when the instance falls silent', () => {
    const pendingBad = run(healthy(), [bad]).snapshot;
    const step = markHealthUnknown(pendingBad, 'no heartbeat for 30 s', 9000);
    expect(step.snapshot).toEqual({
      state: 'UNKNOWN',
      since: 9000,
      reason: 'no heartbeat for 30 s',
      pending: null,
    });
    expect(step.transition).toEqual({
      from: 'HEALTHY',
      to: 'UNKNOWN',
      at: 9000,
      reason: 'no heartbeat for 30 s',
    });
    expect(markHealthUnknown(step.snapshot, 'still silent', 9500).transition).toBeNull();
    // A returning instance is usable at once.
    expect(observeHealth(step.snapshot, good, T, 10_000).snapshot.state).toBe('HEALTHY');
  });

  it('does not mutate the input snapshot', () => {
    const s = Object.freeze(healthy());
    expect(() => run(s, [bad, bad, good])).not.toThrow();
    expect(s.state).toBe('HEALTHY');
  });

  it('aggregates an agent from its best instance', () => {
    expect(aggregateHealth(['UNHEALTHY', 'DEGRADED', 'HEALTHY'])).toBe('HEALTHY');
    expect(aggregateHealth(['UNKNOWN', 'UNHEALTHY', 'DEGRADED'])).toBe('DEGRADED');
    expect(aggregateHealth(['UNKNOWN', 'UNHEALTHY'])).toBe('UNHEALTHY');
    expect(aggregateHealth(['UNKNOWN'])).toBe('UNKNOWN');
    expect(aggregateHealth([])).toBe('UNKNOWN');
  });

  it('validates thresholds', () => {
    expect(validateHealthThresholds(T)).toEqual([]);
    expect(validateHealthThresholds({ ...T, degradedLatencyMs: 5000, degradedErrorRate: 0.6 })).toEqual([
      'degradedLatencyMs (5000) must be < unhealthyLatencyMs (5000)',
      'degradedErrorRate (0.6) must be < unhealthyErrorRate (0.5)',
    ]);
    expect(validateHealthThresholds({ ...T, unhealthyErrorRate: 1.5, worsenAfter: 0 })).toEqual([
      'unhealthyErrorRate must be in (0, 1] (got 1.5)',
      'worsenAfter must be a positive integer (got 0)',
    ]);
  });
});
