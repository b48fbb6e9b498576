/** How a retry delay is randomised (AWS architecture blog "Exponential Backoff And Jitter"). */
export type JitterStrategy = 'NONE' | 'FULL' | 'EQUAL' | 'DECORRELATED';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  jitter: JitterStrategy;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 'FULL' };

/**
 * Delay before retry number `attempt` (1 = first retry). `previousMs` is only used by the
 * decorrelated strategy, whose next delay depends on the last one. `random` returns [0, 1).
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = defaultBackoff,
  previousMs: number = policy.initialMs,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(
    policy.maxMs,
    policy.initialMs * policy.multiplier ** Math.max(0, attempt - 1),
  );
  switch (policy.jitter) {
    case 'NONE':
      return exponential;
    case 'FULL':
      return Math.floor(random() * exponential);
    case 'EQUAL':
      return Math.floor(exponential / 2 + random() * (exponential / 2));
    case 'DECORRELATED': {
      const upper = Math.max(policy.initialMs, previousMs * 3);
      return Math.min(policy.maxMs, Math.floor(policy.initialMs + random() * (upper - policy.initialMs)));
    }
  }
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
