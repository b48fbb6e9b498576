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
