/** Reading counters out of the Prometheus text every platform process serves on /metrics. */

/** Each sample of metric `name` (exactly that name) with its labels and value. */
export function* samples(
  metrics: string,
  name: string,
): Generator<{ labels: Map<string, string>; value: number }> {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = new Map<string, string>();
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(m[1]!, m[2]!);
    yield { labels, value: Number(match[3]) };
  }
}

/** Sum of a counter's samples whose labels include all of `labels`. */
export function sumSamples(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples(metrics, name))
    if (Object.entries(labels).every(([k, v]) => s.labels.get(k) === v)) total += s.value;
  return total;
}

/** A counter's samples summed by the value of one label ('' for samples without it). */
export function samplesByLabel(metrics: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples(metrics, name)) {
    const value = s.labels.get(label) ?? '';
    out[value] = (out[value] ?? 0) + s.value;
  }
  return out;
}

/** A histogram's cumulative bucket counts (by upper bound, +Inf last), sum and count, its labels summed. */
export interface HistogramReading {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Reads histogram `name` (its `_bucket`, `_sum` and `_count` samples), every label set added up. */
export function readHistogram(metrics: string, name: string): HistogramReading {
  const byLe = new Map<number, number>();
  for (const s of samples(metrics, `${name}_bucket`)) {
    const le = s.labels.get('le');
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + s.value);
  }
  return {
    buckets: [...byLe].sort(([a], [b]) => a - b).map(([le, count]) => ({ le, count })),
    sum: sumSamples(metrics, `${name}_sum`),
    count: sumSamples(metrics, `${name}_count`),
  };
}

/** What a histogram gained between two readings (the later minus the earlier, bucket by bucket). */
export function histogramIncrease(before: HistogramReading, after: HistogramReading): HistogramReading {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * The q-quantile of a histogram, interpolated linearly inside its bucket as Prometheus's
 * histogram_quantile does: an estimate as fine as the buckets. In the +Inf bucket, the highest finite
 * bound (the value is known only to be above it). Null when the histogram is empty.
 */
export function histogramQuantile(h: HistogramReading, q: number): number | null {
  if (h.count <= 0 || h.buckets.length === 0) return null;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const { le, count } of h.buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      const inBucket = count - below;
      return inBucket > 0 ? lower + ((le - lower) * (rank - below)) / inBucket : le;
    }
    if (le !== Infinity) lower = le;
    below = count;
  }
  return lower;
}
