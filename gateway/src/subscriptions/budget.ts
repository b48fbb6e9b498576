import pLimit from 'p-limit';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';

/**
 * How many of something each caller holds at once (its sockets, its subscriptions), at most `max`
 * per caller key. In process, as the rate limiter's buckets are: a caller's allowance is per gateway
 * replica.
 */
export function callerAllowance(max: number) {
  const held = new Map<string, number>();
  return {
    max,
    /** Takes one for `key`; false (and nothing taken) when it already holds `max`. */
    take(key: string): boolean {
      const now = held.get(key) ?? 0;
      if (now >= max) return false;
      held.set(key, now + 1);
      return true;
    },
    /** Gives back `amount` taken for `key`. */
    release(key: string, amount = 1): void {
      const left = (held.get(key) ?? 0) - amount;
      if (left > 0) held.set(key, left);
      else held.delete(key);
    },
  };
}

/** The gauge of subscription payload resolutions running and waiting for the budget, by `state`. */
export const RESOLUTION_BUDGET_METRIC = 'waooaw_gateway_subscription_resolution_budget';
/** The counter of subscription payload resolutions run. */
export const RESOLUTIONS_METRIC = 'waooaw_gateway_subscription_resolutions_total';

/**
 * The gateway's budget for resolving subscription payloads (the queries it runs itself for the
 * entity fields of events): at most `concurrency` run at once, the rest wait in order. Waiting is
 * backpressure, not an error: a subscriber whose events wait too long falls behind and its own queue
 * closes it (4429), as for a slow client. This is what bounds that work, not the callers' request
 * rate limits: see rateLimitPlugin.
 */
export function resolutionBudget(concurrency: number, registry?: Registry) {
  // p-limit: a plain FIFO with a concurrency cap, and the counts the gauge reports.
  const limit = pLimit(concurrency);
  if (registry) {
    new Gauge({
      name: RESOLUTION_BUDGET_METRIC,
      help: 'Subscription payload resolutions running, and queued for the resolution budget (SUBSCRIPTION_RESOLVE_CONCURRENCY)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'running' }, limit.activeCount);
        this.set({ state: 'queued' }, limit.pendingCount);
      },
    });
  }
  const resolved = registry
    ? new Counter({
        name: RESOLUTIONS_METRIC,
        help: 'Subscription payload resolutions run (their rate is the gateway’s resolution work)',
        registers: [registry],
      })
    : undefined;
  return {
    concurrency,
    /** Runs `resolve` once the budget has room for it. */
    run<T>(resolve: () => Promise<T>): Promise<T> {
      return limit(async () => {
        try {
          return await resolve();
        } finally {
          resolved?.inc();
        }
      });
    },
  };
}
export type ResolutionBudget = ReturnType<typeof resolutionBudget>;
