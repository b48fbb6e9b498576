import type { InstanceLoad } from '@waooaw/shared';

/**
 * An instance's load as heartbeats report it: tasks in flight, and latency and error rate over the
 * last `window` finished tasks (a count window: an idle instance keeps its last known figures).
 */
export function createLoadTracker(window = 50) {
  let inFlight = 0;
  let completed = 0;
  let failed = 0;
  const recent: { ms: number; ok: boolean }[] = [];
  return {
    /** A task starts; call the returned function once when it ends. */
    begin(now = Date.now()): (ok: boolean, end?: number) => void {
      inFlight++;
      let ended = false;
      return (ok, end = Date.now()) => {
        if (ended) return;
        ended = true;
        inFlight--;
        if (ok) completed++;
        else failed++;
        recent.push({ ms: end - now, ok });
        if (recent.length > window) recent.shift();
      };
    },
    snapshot(): InstanceLoad {
      const n = recent.length;
      return {
        inFlight,
        latencyMs: n ? Math.round(recent.reduce((s, r) => s + r.ms, 0) / n) : 0,
        errorRate: n ? recent.filter((r) => !r.ok).length / n : 0,
        completed,
        failed,
      };
    },
  };
}

export type LoadTracker = ReturnType<typeof createLoadTracker>;
