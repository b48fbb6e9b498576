import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { RssSample } from './memory';
import { lateRssTrendMbPerMin, rssTimeline } from './memory';
import type { ProcessFigure } from './report';

/** CPU time of a process from /proc/<pid>/stat, in clock ticks. */
export function parseProcStat(text: string): { utime: number; stime: number } {
  // The command name (field 2) may hold spaces and parentheses: the fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime and stime are fields 14 and 15.
  return { utime: Number(rest[11]), stime: Number(rest[12]) };
}

/** Resident set size from /proc/<pid>/status, in kB (null when the line is missing, e.g. a zombie). */
export function parseRssKb(text: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return match ? Number(match[1]) : null;
}

let clockTicks: number | undefined;
/** Clock ticks per second (CLK_TCK); 100 on every Linux this runs on, asked once to be sure. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** CPU ticks so far and RSS now of one process; null once it has exited. */
export function readProcess(pid: number): { ticks: number; rssKb: number | null } | null {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return null;
  const { utime, stime } = parseProcStat(stat);
  const status = read(`/proc/${pid}/status`);
  return { ticks: utime + stime, rssKb: status ? parseRssKb(status) : null };
}

/** Every process whose command line contains all of `parts` (and, if given, whose env has PORT=port). */
export function findProcesses(parts: readonly string[], port?: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = read(`/proc/${entry}/cmdline`)?.replace(/\0/g, ' ');
    if (!cmdline || !parts.every((p) => cmdline.includes(p))) continue;
    if (port !== undefined) {
      const environ = read(`/proc/${entry}/environ`)?.split('\0') ?? [];
      if (!environ.includes(`PORT=${port}`)) continue;
    }
    found.push(Number(entry));
  }
  return found;
}

export interface WatchedProcess {
  name: string;
  pid: number;
}

const toMb = (kb: number | null) => (kb === null ? null : Math.round(kb / 1024));

/**
 * CPU share and RSS of a set of processes over a window: ticks are read at the start and the end,
 * RSS every `intervalMs` in between (and processes may join later, e.g. a restarted runtime). The RSS
 * series is kept (one number a second: 36,000 for a ten-hour run) to report its course, see memory.ts.
 */
export function createProcessSampler(intervalMs = 1000) {
  const watched = new Map<
    number,
    {
      name: string;
      startTicks: number;
      startedAt: number;
      lastTicks: number;
      lastAt: number;
      rssMaxKb: number;
      rssStartKb: number | null;
      rssLastKb: number | null;
      rss: RssSample[];
    }
  >();
  let timer: NodeJS.Timeout | undefined;
  let windowStart = performance.now();

  const sample = () => {
    const now = performance.now();
    for (const [pid, w] of watched) {
      const r = readProcess(pid);
      if (!r) continue;
      w.lastTicks = r.ticks;
      w.lastAt = now;
      if (r.rssKb === null) continue;
      w.rssMaxKb = Math.max(w.rssMaxKb, r.rssKb);
      w.rssLastKb = r.rssKb;
      w.rss.push({ at: now, kb: r.rssKb });
    }
  };

  return {
    /** Starts (or restarts) the window for these processes. */
    start(processes: readonly WatchedProcess[]) {
      watched.clear();
      windowStart = performance.now();
      for (const p of processes) this.add(p);
      clearInterval(timer);
      timer = setInterval(sample, intervalMs);
      timer.unref();
    },
    add(p: WatchedProcess) {
      const r = readProcess(p.pid);
      if (!r) return;
      const now = performance.now();
      watched.set(p.pid, {
        name: p.name,
        startTicks: r.ticks,
        startedAt: now,
        lastTicks: r.ticks,
        lastAt: now,
        rssMaxKb: r.rssKb ?? 0,
        rssStartKb: r.rssKb,
        rssLastKb: r.rssKb,
        rss: r.rssKb === null ? [] : [{ at: now, kb: r.rssKb }],
      });
    },
    /**
     * Ends the window: CPU% over it (100 = one core), RSS at its start and end and the peak, MB, its
     * median per tenth of the window and its trend over the second half.
     */
    stop(): ProcessFigure[] {
      clearInterval(timer);
      sample();
      const windowEnd = performance.now();
      const hz = ticksPerSecond();
      return [...watched].map(([pid, w]) => {
        const seconds = (w.lastAt - w.startedAt) / 1000;
        return {
          name: w.name,
          pid,
          cpuPercent:
            seconds > 0 ? Math.round(((w.lastTicks - w.startTicks) / hz / seconds) * 1000) / 10 : null,
          cpuMs: Math.round(((w.lastTicks - w.startTicks) / hz) * 1000),
          rssMaxMb: w.rssMaxKb ? Math.round(w.rssMaxKb / 1024) : null,
          rssStartMb: toMb(w.rssStartKb),
          rssEndMb: toMb(w.rssLastKb),
          rssTimelineMb: rssTimeline(w.rss, windowStart, windowEnd),
          rssLateTrendMbPerMin: lateRssTrendMbPerMin(w.rss, windowStart, windowEnd),
        };
      });
    },
  };
}
