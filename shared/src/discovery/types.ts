/**
 * The vocabulary of instance selection, shared by discovery (which owns the registry) and
 * orchestration (which dispatches from a replica of it), so both choose with the very same code.
 */
export const HEALTH_STATES = ['HEALTHY', 'DEGRADED', 'UNHEALTHY', 'UNKNOWN'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

export const CIRCUIT_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export const LOAD_BALANCING_STRATEGIES = [
  'ROUND_ROBIN',
  'LEAST_CONNECTIONS',
  'WEIGHTED',
  'RANDOM',
  'POWER_OF_TWO_CHOICES',
] as const;
export type LoadBalancingStrategy = (typeof LOAD_BALANCING_STRATEGIES)[number];

/** What the load balancer needs to know of one instance. */
export interface Candidate {
  readonly id: string;
  /** Relative share for WEIGHTED; positive, fractions allowed (10, 1, 0.3). */
  readonly weight: number;
  readonly health: HealthState;
  readonly circuit: CircuitState;
  /** Tasks the instance is running now. */
  readonly inFlight: number;
  /** Tasks it may run at once; an instance at capacity is not chosen. Absent: unlimited. */
  readonly capacity?: number;
}

/** A source of uniform numbers in [0, 1); tests pass a seeded one. */
export type RandomSource = () => number;
