/**
 * A token bucket per caller: `burst` requests at once, refilled at `perMinute`. Our own because it
 * is a few lines and keeps state in process (one gateway instance per machine here); a shared store
 * would replace the Map when the gateway scales out.
 */
export function createRateLimiter(options: {
  perMinute: number;
  burst: number;
  now?: () => number;
  maxKeys?: number;
}) {
  const now = options.now ?? Date.now;
  const perMs = options.perMinute / 60_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  return function take(key: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const t = now();
    const bucket = buckets.get(key) ?? { tokens: options.burst, at: t };
    bucket.tokens = Math.min(options.burst, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    buckets.delete(key); // re-insert: the Map's order is then least recently used first
    buckets.set(key, bucket);
    if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
  };
}
