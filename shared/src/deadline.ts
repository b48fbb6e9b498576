/**
 * Bounding how long something may take, in one place. Two needs share it: a handler that must give
 * up when its attempt's time is over (the agents runtime), and a read that must not hold a metrics
 * scrape (the outbox and breaker gauges), which keeps the last value instead.
 */

/**
 * Raised when work did not settle in time. Named `TimeoutError` like Node's own timeouts
 * (`AbortSignal.timeout`), so shared/src/faults.ts counts it as transient.
 */
export class DeadlineExceededError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * `work`'s outcome if it settles within `ms`, else a DeadlineExceededError. The work itself is not
 * stopped (a promise cannot be): what it does later is ignored, so callers that must stop it pass
 * it an AbortSignal of their own.
 */
export function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `work`'s value if it succeeds within `ms`; undefined if it fails or takes longer. */
export function valueWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  return within(work, ms).catch(() => undefined);
}
