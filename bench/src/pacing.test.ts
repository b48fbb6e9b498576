import {
  bursts,
  constantRate,
  inFlightWindow,
  untilStopped,
  rampSteps,
  stepIndex,
  steppedRate,
} from './pacing';

describe('offered load', () => {
  it('spreads a constant rate evenly and never exceeds the total', () => {
    const p = constantRate(200, 10_000);
    expect(p.total).toBe(2000);
    expect(p.dueAt(0)).toBe(0);
    expect(p.dueAt(5)).toBe(1);
    expect(p.dueAt(1000)).toBe(200);
    expect(p.dueAt(9_999)).toBe(1999);
    expect(p.dueAt(60_000)).toBe(2000);
    expect(p.rateAt(500)).toBe(200);
    expect(p.rateAt(10_000)).toBe(0);
  });

  it('catches up after a late tick instead of lowering the rate', () => {
    const p = constantRate(100, 5_000);
    // A pacer that slept 300 ms owes 30 tasks at once, not 1.
    expect(p.dueAt(300) - p.dueAt(0)).toBe(30);
  });

  it('steps a ramp up and holds each rate', () => {
    const steps = rampSteps(50, 150, 50, 2000);
    expect(steps.map((s) => s.rate)).toEqual([50, 100, 150]);
    const p = steppedRate(steps);
    expect(p.total).toBe(100 + 200 + 300);
    expect(p.durationMs).toBe(6000);
    expect(p.dueAt(2000)).toBe(100);
    expect(p.dueAt(3000)).toBe(200);
    expect(p.dueAt(6000)).toBe(600);
    expect(p.rateAt(4500)).toBe(150);
    expect(stepIndex(steps, 2500)).toBe(1);
    expect(stepIndex(steps, 7000)).toBe(3);
    expect(() => rampSteps(0, 10, 5, 1000)).toThrow(/ramp/);
  });

  it('offers each burst at once', () => {
    const p = bursts(3, 1000, 10_000);
    expect(p.total).toBe(3000);
    expect(p.dueAt(0)).toBe(1000);
    expect(p.dueAt(9_999)).toBe(1000);
    expect(p.dueAt(10_000)).toBe(2000);
    expect(p.dueAt(99_000)).toBe(3000);
  });

  it('offers a rate without end until stopped, then nothing more than was due at the stop', () => {
    const p = untilStopped(50, 60_000);
    expect(p.total).toBe(Number.POSITIVE_INFINITY);
    expect(p.dueAt(3_600_000)).toBe(180_000);
    p.stop(2_000);
    expect(p.total).toBe(100);
    expect(p.dueAt(3_600_000)).toBe(100);
    expect(p.rateAt(1_000)).toBe(50);
    expect(p.rateAt(2_500)).toBe(0);
  });

  test('an in-flight window offers the next task as one settles, and ends at its duration', () => {
    let settled = 0;
    const p = inFlightWindow(3, 1000, () => settled);
    expect(p.total).toBe(Number.POSITIVE_INFINITY);
    expect(p.dueAt(0)).toBe(3);
    expect(p.dueAt(10)).toBe(3);
    settled = 2;
    expect(p.dueAt(20)).toBe(5);
    // Never takes back what was due, whatever the count says.
    settled = 1;
    expect(p.dueAt(30)).toBe(5);
    settled = 4;
    // The offered phase is over: what was due stays due, nothing more.
    expect(p.dueAt(1000)).toBe(5);
    expect(p.total).toBe(5);
    settled = 5;
    expect(p.dueAt(2000)).toBe(5);
    expect(() => inFlightWindow(0, 1000, () => 0)).toThrow(/at least one/);
  });
});
