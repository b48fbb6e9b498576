/**
 * Resident memory over a run, told apart from the garbage collector's sawtooth: a start and an end
 * alone cannot tell a leak from a heap that happened to be full when sampled, so the sampler keeps a
 * series and these pure functions summarise it (median per slice of the run, and the trend of its
 * second half, after the warm-up).
 */

export interface RssSample {
  /** ms, any monotonic clock. */
  at: number;
  kb: number;
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * The median RSS (MB, rounded) of each of `slices` equal parts of [start, end]; null for a part with
 * no sample (the process had exited, or joined later).
 */
export function rssTimeline(
  samples: readonly RssSample[],
  start: number,
  end: number,
  slices = 10,
): (number | null)[] {
  const span = Math.max(end - start, 1);
  const parts: number[][] = Array.from({ length: slices }, () => []);
  for (const s of samples) {
    if (s.at < start || s.at > end) continue;
    const i = Math.min(slices - 1, Math.floor(((s.at - start) / span) * slices));
    parts[i]!.push(s.kb);
  }
  return parts.map((p) => {
    const m = median(p);
    return m === null ? null : Math.round(m / 1024);
  });
}

/**
 * The trend of the RSS floor over the second half of [start, end], in MB per minute: about zero for a
 * process that has plateaued, steadily positive for one that leaks. The floor is the lowest sample of
 * each tenth of that half (at least 30 s, so each holds a collection): a line fitted through every
 * sample would also catch the rise inside each GC cycle, and the last cycle's phase would decide it.
 * Null with fewer than 4 such slices holding samples.
 */
export function lateRssTrendMbPerMin(
  samples: readonly RssSample[],
  start: number,
  end: number,
): number | null {
  const from = start + (end - start) / 2;
  const slice = Math.max((end - from) / 10, 30_000);
  const floors = new Map<number, RssSample>();
  for (const s of samples) {
    if (s.at < from || s.at > end) continue;
    const i = Math.floor((s.at - from) / slice);
    const low = floors.get(i);
    if (!low || s.kb < low.kb) floors.set(i, { at: from + (i + 0.5) * slice, kb: s.kb });
  }
  const points = [...floors.values()];
  if (points.length < 4) return null;
  const n = points.length;
  const meanX = points.reduce((a, s) => a + s.at, 0) / n;
  const meanY = points.reduce((a, s) => a + s.kb, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of points) {
    num += (s.at - meanX) * (s.kb - meanY);
    den += (s.at - meanX) ** 2;
  }
  const kbPerMs = den === 0 ? 0 : num / den;
  return Math.round(((kbPerMs * 60_000) / 1024) * 100) / 100;
}
