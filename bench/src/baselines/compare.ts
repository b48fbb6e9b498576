/**
 * WAOOAW against a plain-queue baseline, scenario by scenario: the ratios WAOOAW / baseline of
 * throughput, latency, overhead and CPU per task, and a table of both runs with the ratios under them.
 */
import { fmt, latencyCells, markdownTable, pct } from '../report';

/** The figures compared, as a ScenarioResult and a BaselineResult both carry them. */
export interface ComparedFigures {
  name: string;
  tasksPerS: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  overheadMs: { p50: number | null; p95: number | null; p99: number | null };
  successRate: number | null;
  lost: number;
  duplicates: number;
  /** The baseline's CPU per task (Redis + worker). */
  cpuMsPerTask?: number | null;
  /** WAOOAW's CPU per task (every platform process), as ScenarioResult names it. */
  platformCpuMsPerTask?: number | null;
  skipped?: string;
}

/** WAOOAW / baseline for each figure (null when either is missing or the baseline's is 0). */
export interface BaselineRatios {
  scenario: string;
  tasksPerS: number | null;
  latencyP50: number | null;
  latencyP95: number | null;
  latencyP99: number | null;
  overheadP50: number | null;
  overheadP95: number | null;
  overheadP99: number | null;
  cpuMsPerTask: number | null;
}

const cpuOf = (f: ComparedFigures) => f.platformCpuMsPerTask ?? f.cpuMsPerTask ?? null;

/** a / b to three significant decimals; null when it means nothing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !(b > 0) || !Number.isFinite(a))
    return null;
  const r = a / b;
  return r >= 10 ? Math.round(r * 10) / 10 : Math.round(r * 1000) / 1000;
}

export function baselineRatios(waooaw: ComparedFigures, baseline: ComparedFigures): BaselineRatios {
  return {
    scenario: waooaw.name,
    tasksPerS: ratio(waooaw.tasksPerS, baseline.tasksPerS),
    latencyP50: ratio(waooaw.latencyMs.p50, baseline.latencyMs.p50),
    latencyP95: ratio(waooaw.latencyMs.p95, baseline.latencyMs.p95),
    latencyP99: ratio(waooaw.latencyMs.p99, baseline.latencyMs.p99),
    overheadP50: ratio(waooaw.overheadMs.p50, baseline.overheadMs.p50),
    overheadP95: ratio(waooaw.overheadMs.p95, baseline.overheadMs.p95),
    overheadP99: ratio(waooaw.overheadMs.p99, baseline.overheadMs.p99),
    cpuMsPerTask: ratio(cpuOf(waooaw), cpuOf(baseline)),
  };
}

const times = (v: number | null) => (v === null ? '-' : `${v}x`);

/**
 * Per scenario: the WAOOAW row, the baseline's row (or why it was skipped) and the ratios
 * WAOOAW / baseline. Above 1 WAOOAW is faster in tasks/s, slower in latency, costlier in CPU.
 */
export function baselineTable(
  pairs: readonly { waooaw: ComparedFigures; baseline: ComparedFigures }[],
  baselineName = 'BullMQ',
): string {
  const header = [
    'scenario',
    'tasks/s',
    'p50 ms',
    'p95',
    'p99',
    'ovh p50',
    'ovh p95',
    'ovh p99',
    'success',
    'lost',
    'dup',
    'cpu ms/task',
  ];
  const row = (label: string, f: ComparedFigures) =>
    f.skipped
      ? [label, 'skipped', '', '', '', '', '', '', '', '', '', f.skipped.slice(0, 60)]
      : [
          label,
          fmt(f.tasksPerS, 1),
          ...latencyCells(f.latencyMs, f.overheadMs),
          pct(f.successRate),
          String(f.lost),
          String(f.duplicates),
          fmt(cpuOf(f), 2),
        ];
  const rows = pairs.flatMap(({ waooaw, baseline }) => {
    const lines = [row(`${waooaw.name} WAOOAW`, waooaw), row(`${waooaw.name} ${baselineName}`, baseline)];
    if (waooaw.skipped || baseline.skipped) return lines;
    const r = baselineRatios(waooaw, baseline);
    return [
      ...lines,
      [
        `${waooaw.name} WAOOAW/${baselineName}`,
        times(r.tasksPerS),
        times(r.latencyP50),
        times(r.latencyP95),
        times(r.latencyP99),
        times(r.overheadP50),
        times(r.overheadP95),
        times(r.overheadP99),
        '',
        '',
        '',
        times(r.cpuMsPerTask),
      ],
    ];
  });
  return markdownTable(header, rows);
}
