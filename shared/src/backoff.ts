import { isTransientError } from './faults';
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

/**
 * Runs `attempt` again while it fails transiently (see isTransientError), with capped jittered
 * backoff, up to `tries` times; a permanent failure, or the last transient one, is thrown. For
 * start-up steps that race another process: a topic created a moment ago elsewhere may still be
 * electing its leaders, and kafkajs does not retry every request that meets that ("not the leader").
 */
export async function retryTransient<T>(
  attempt: () => Promise<T>,
  { tries = 10, policy = defaultBackoff }: { tries?: number; policy?: BackoffPolicy } = {},
): Promise<T> {
  let previous = policy.initialMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= tries || !isTransientError(err)) throw err;
      previous = backoffDelay(n, policy, previous);
      await delay(previous);
    }
  }
}
