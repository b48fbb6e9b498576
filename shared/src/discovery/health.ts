/**
 * Four-state instance health with hysteresis. Domain logic we own: no library models our
 * health/breaker/selection rules, and the snapshot is plain data so any replica can move it on.
 */
import type { HealthState } from './types';

export interface HealthThresholds {
  /** Average latency at/above which an instance is DEGRADED / UNHEALTHY. */
  degradedLatencyMs: number;
  unhealthyLatencyMs: number;
  /** Error rate (0..1) at/above which it is DEGRADED / UNHEALTHY. */
  degradedErrorRate: number;
  unhealthyErrorRate: number;
  /** Consecutive observations needed to move to a worse state, and to a better one (hysteresis). */
  worsenAfter: number;
  improveAfter: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  degradedLatencyMs: 1000,
  unhealthyLatencyMs: 5000,
  degradedErrorRate: 0.1,
  unhealthyErrorRate: 0.5,
  worsenAfter: 2,
  improveAfter: 3,
};

export interface HealthObservation {
  latencyMs: number;
  errorRate: number;
  /** The instance says it cannot work (e.g. shutting down / failing self-check). */
  selfReportedUnhealthy?: boolean;
}

export interface HealthSnapshot {
  state: HealthState;
  since: number;
  reason: string;
  /** A different state seen in consecutive observations but not yet adopted. */
  pending: { state: HealthState; count: number } | null;
}

export interface HealthTransition {
  from: HealthState;
  to: HealthState;
  at: number;
  reason: string;
}

interface Step {
  snapshot: HealthSnapshot;
  transition: HealthTransition | null;
}

const SEVERITY: Record<HealthState, number> = { HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2, UNKNOWN: 3 };

const percent = (rate: number): string => `${Number((rate * 100).toFixed(1))}%`;

function move(s: HealthSnapshot, to: HealthState, reason: string, now: number): Step {
  return {
    snapshot: { state: to, since: now, reason, pending: null },
    transition: { from: s.state, to, at: now, reason },
  };
}

/**
 * The verdict of a single observation, before hysteresis. The reason names the figure that crossed a
 * threshold so an operator sees why an instance was demoted without digging through metrics.
 */
export function classifyHealth(
  o: HealthObservation,
  t: HealthThresholds,
): { state: Exclude<HealthState, 'UNKNOWN'>; reason: string } {
  if (o.selfReportedUnhealthy) return { state: 'UNHEALTHY', reason: 'self-reported unhealthy' };
  const breaches = (errorRate: number, latencyMs: number): string[] => [
    ...(o.errorRate >= errorRate ? [`error rate ${percent(o.errorRate)} >= ${percent(errorRate)}`] : []),
    ...(o.latencyMs >= latencyMs ? [`latency ${o.latencyMs} ms >= ${latencyMs} ms`] : []),
  ];
  const unhealthy = breaches(t.unhealthyErrorRate, t.unhealthyLatencyMs);
  if (unhealthy.length > 0) return { state: 'UNHEALTHY', reason: unhealthy.join(', ') };
  const degraded = breaches(t.degradedErrorRate, t.degradedLatencyMs);
  if (degraded.length > 0) return { state: 'DEGRADED', reason: degraded.join(', ') };
  return { state: 'HEALTHY', reason: 'within thresholds' };
}

/** Registered but unobserved: not routable until the first heartbeat says what it can do. */
export function initialHealth(now: number): HealthSnapshot {
  return { state: 'UNKNOWN', since: now, reason: 'registered, no observation yet', pending: null };
}

/**
 * Hysteresis keeps one noisy heartbeat from flapping an instance in and out of rotation: a new verdict
 * must repeat before it is adopted, and recovering has its own, usually longer, count (improveAfter) so
 * traffic does not rush back to an instance that is only briefly better. Two cases skip the wait: an UNKNOWN
 * instance (new or returning) is usable at once, and an instance that says it cannot work is believed.
 */
export function observeHealth(
  s: HealthSnapshot,
  o: HealthObservation,
  t: HealthThresholds,
  now: number,
): Step {
  const verdict = classifyHealth(o, t);
  if (verdict.state === s.state) {
    return { snapshot: s.pending === null ? s : { ...s, pending: null }, transition: null };
  }
  if (s.state === 'UNKNOWN' || o.selfReportedUnhealthy) return move(s, verdict.state, verdict.reason, now);

  // Consecutive observations on the same side of the current state count together, and the move
  // is to the mildest of them: DEGRADED, UNHEALTHY, DEGRADED from HEALTHY worsens to DEGRADED.
  const worse = SEVERITY[verdict.state] > SEVERITY[s.state];
  const pending = s.pending;
  const sameSide = pending !== null && SEVERITY[pending.state] > SEVERITY[s.state] === worse;
  const count = sameSide ? pending.count + 1 : 1;
  const target =
    sameSide && SEVERITY[pending.state] !== SEVERITY[verdict.state]
      ? (
          worse
            ? SEVERITY[pending.state] < SEVERITY[verdict.state]
            : SEVERITY[pending.state] > SEVERITY[verdict.state]
        )
        ? pending.state
        : verdict.state
      : verdict.state;
  const needed = worse ? t.worsenAfter : t.improveAfter;
  if (count >= needed) {
    const reason = needed > 1 ? `${verdict.reason} (${count} consecutive observations)` : verdict.reason;
    return move(s, target, reason, now);
  }
  return { snapshot: { ...s, pending: { state: target, count } }, transition: null };
}

/**
 * Silence past the TTL means we know nothing, and routing to an instance that may be gone is worse than
 * skipping it, so this takes effect at once.
 */
export function markHealthUnknown(s: HealthSnapshot, reason: string, now: number): Step {
  if (s.state === 'UNKNOWN')
    return { snapshot: s.pending === null ? s : { ...s, pending: null }, transition: null };
  return move(s, 'UNKNOWN', reason, now);
}

/** An agent is as usable as its best instance, since the balancer routes to the best ones first. */
export function aggregateHealth(states: readonly HealthState[]): HealthState {
  for (const state of ['HEALTHY', 'DEGRADED', 'UNHEALTHY'] as const) if (states.includes(state)) return state;
  return 'UNKNOWN';
}

/**
 * Thresholds are operator-edited; inverted or zero values would classify every instance the same way,
 * so they are checked rather than trusted.
 */
export function validateHealthThresholds(t: HealthThresholds): string[] {
  const problems: string[] = [];
  for (const name of ['degradedLatencyMs', 'unhealthyLatencyMs'] as const) {
    if (!Number.isFinite(t[name]) || t[name] <= 0)
      problems.push(`${name} must be a positive number (got ${t[name]})`);
  }
  for (const name of ['degradedErrorRate', 'unhealthyErrorRate'] as const) {
    if (!(t[name] > 0 && t[name] <= 1)) problems.push(`${name} must be in (0, 1] (got ${t[name]})`);
  }
  for (const name of ['worsenAfter', 'improveAfter'] as const) {
    if (!Number.isInteger(t[name]) || t[name] <= 0)
      problems.push(`${name} must be a positive integer (got ${t[name]})`);
  }
  if (!(t.degradedLatencyMs < t.unhealthyLatencyMs)) {
    problems.push(
      `degradedLatencyMs (${t.degradedLatencyMs}) must be < unhealthyLatencyMs (${t.unhealthyLatencyMs})`,
    );
  }
  if (!(t.degradedErrorRate < t.unhealthyErrorRate)) {
    problems.push(
      `degradedErrorRate (${t.degradedErrorRate}) must be < unhealthyErrorRate (${t.unhealthyErrorRate})`,
    );
  }
  return problems;
}
