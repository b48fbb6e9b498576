import type { BaselineResult } from './baselines/bullmq';
import type { TaskCosts } from './costs';
import type { Measurement } from './tracker';
import { round } from './stats';

/** CPU and memory of one process over a scenario. */
export interface ProcessFigure {
  name: string;
  pid: number;
  /** Share of one core over the scenario (100 = one core busy all the time). */
  cpuPercent: number | null;
  /** CPU time it used over the scenario (user + system), ms; null when never seen. */
  cpuMs: number | null;
  /** Largest resident set seen, MB. */
  rssMaxMb: number | null;
  /** Resident set at the start of the scenario (or when the process joined it), MB. */
  rssStartMb: number | null;
  /** Resident set at the end of the scenario (or when last seen), MB: against the start, the growth. */
  rssEndMb: number | null;
  /** Median resident set of each tenth of the scenario, MB (null: not running then). */
  rssTimelineMb?: (number | null)[];
  /** Trend of the resident set's floor over the scenario's second half, MB per minute (memory.ts). */
  rssLateTrendMbPerMin?: number | null;
}

/** Percentiles of a latency, ms. */
export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** What the live scenario measures of the gateway's subscriptions (its task figures are the load's). */
export interface LiveFigures {
  clients: number;
  /** Per feed: clients, events of the window, deliveries owed and made, and their latency (as latencyMs). */
  byFeed: Record<
    string,
    { clients: number; events: number; expected: number; delivered: number; latencyMs: Percentiles }
  >;
  /** connection_init to connection_ack, per client; totalS: the first connect to the last ack. */
  connectMs: Percentiles & { totalS: number; failed: number };
  expected: number;
  delivered: number;
  /** delivered / expected (1 when nothing was owed). */
  deliveredShare: number;
  missed: number;
  /** Of the missed, those before the client's first owed event (a late start rather than a gap). */
  missedBeforeFirst: number;
  duplicates: number;
  /** Events received that the client was not owed (another customer's): must be 0. */
  foreign: number;
  unmatched: number;
  /** GraphQL errors in payloads and subscribe refusals, by extensions.code. */
  errors: Record<string, number>;
  /** Sockets closed before the end of the run, by close code. */
  closeCodes: Record<string, number>;
  /** Receipt minus the event's Kafka timestamp. */
  latencyMs: Percentiles;
  /** Receipt minus the event's own time (data.at: includes the service's outbox delay). */
  eventTimeLatencyMs: Percentiles;
  /**
   * The same events' age when the gateway handed them to its subscribers (its
   * waooaw_subscription_event_age_seconds over the window, every topic): the part of latencyMs spent
   * before the gateway's sending. p50/p99 interpolated within the histogram's buckets. Null when the
   * gateway's metrics could not be read.
   */
  gatewayEventAgeMs: { count: number; mean: number | null; p50: number | null; p99: number | null } | null;
  subgraphRequests: {
    /** Increase of every subgraph's /graphql request count over the window, by subgraph. */
    bySubgraph: Record<string, number>;
    /** HTTP /graphql requests the gateway served in the window (the bench's mutations), each taken to cost one subgraph request. */
    clientRequests: number;
    /** Window events with at least one client owed them. */
    eventsWithAudience: number;
    /**
     * (sum of bySubgraph - clientRequests) / eventsWithAudience. Requests are counted until the
     * clients stopped catching up: with deliveries missing, the payloads never built are not in it.
     */
    perEvent: number | null;
    /** The same over deliveries made: near the entities per payload when each subscriber's payload is resolved alone. */
    perDelivery: number | null;
  };
  gateway: {
    rssBeforeMb: number | null;
    rssConnectedMb: number | null;
    rssEndMb: number | null;
    /** (connected - before) RSS per 1,000 connections. */
    rssMbPer1000: number | null;
    /** CPU spent connecting and subscribing, per 1,000 connections. */
    connectCpuMsPer1000: number | null;
    /** CPU per second of the event window, per 1,000 connections. */
    cpuMsPerSPer1000: number | null;
  };
}

/** One scenario in results JSON (the fields the issue names first, then the detail). */
export interface ScenarioResult {
  name: string;
  agents: number;
  offeredPerS: number | null;
  tasksPerS: number | null;
  tasksPerMin: number | null;
  latencyMs: { avg: number | null; p50: number | null; p95: number | null; p99: number | null };
  overheadMs: { p50: number | null; p95: number | null; p99: number | null };
  successRate: number | null;
  lost: number;
  duplicates: number;
  ratioToCeiling: number | null;
  submitted: number;
  completed: number;
  failed: number;
  refused: number;
  retried: number;
  handlerMs: { avg: number | null; p50: number | null; p95: number | null };
  /** p50 / p95 of each stage of a completed task (see Measurement.stages), ms. */
  stagesMs: Record<'accept' | 'dispatch' | 'run', { p50: number | null; p95: number | null }>;
  /** Completed tasks per tier, as fractions of all completed. */
  tierShare: Record<string, number>;
  durationS: number;
  /** CPU ms of every platform process (not the bench) over the scenario per completed task. */
  platformCpuMsPerTask: number | null;
  /** MongoDB commands per completed task (null: the server does not count them). */
  mongoCommandsPerTask: number | null;
  /** MongoDB queries answered by a whole-collection scan per completed task (see costs.ts). */
  mongoScansPerTask: number | null;
  /** Kafka requests of the platform's processes per completed task. */
  kafkaRequestsPerTask: TaskCosts['kafkaRequestsPerTask'];
  /** The counts those were divided from. */
  costCounts?: TaskCosts['counts'];
  processes: ProcessFigure[];
  /** Scenario specifics (ramp steps and knee, injected faults, skip reasons ...). */
  details: Record<string, unknown>;
  /** The live scenario's subscription figures. */
  live?: LiveFigures;
  skipped?: string;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: { cpus: number; loadAvg: number[]; node: string };
  kafkaCeiling: { msgsPerS: number; messageBytes: number; messages: number } | null;
  /** steady's tasks/s over the ceiling's messages/s. */
  ratioToCeiling: number | null;
  scenarios: ScenarioResult[];
  /** The plain-queue baseline run beside steady and max (absent with --no-baseline). */
  baselines?: { bullmq: BaselineResult[] };
  /** With --tracing: spans the platform exported over the whole run (warm-up included). */
  tracing?: TracingFigures;
}

export interface TracingFigures {
  spansReceived: number;
  /** Spans over tasks that reached a final status, warm-up included (heartbeats' spans too). */
  spansPerFinishedTask: number | null;
}

/** What a --tracing run exported, per finished task (one decimal). */
export function tracingFigures(spansReceived: number, finishedTasks: number): TracingFigures {
  return {
    spansReceived,
    spansPerFinishedTask: finishedTasks > 0 ? Math.round((spansReceived / finishedTasks) * 10) / 10 : null,
  };
}

/** n / of to four decimals (0 when there is nothing to share). */
export const share = (n: number, of: number) => (of > 0 ? Math.round((n / of) * 10_000) / 10_000 : 0);

/** Turns a load scenario's measurement into its results entry. */
export function scenarioResult(
  name: string,
  m: Measurement,
  extra: {
    agents: number;
    offeredPerS: number | null;
    durationS: number;
    ceilingMsgsPerS?: number | null;
    processes?: ProcessFigure[];
    costs?: TaskCosts | null;
    details?: Record<string, unknown>;
  },
): ScenarioResult {
  const tasksPerS = m.spanMs > 0 ? m.completed / (m.spanMs / 1000) : null;
  const tierShare: Record<string, number> = {};
  for (const [tier, n] of Object.entries(m.byTier).sort()) tierShare[tier] = share(n, m.completed);
  return {
    name,
    agents: extra.agents,
    offeredPerS: extra.offeredPerS === null ? null : round(extra.offeredPerS),
    tasksPerS: tasksPerS === null ? null : round(tasksPerS),
    tasksPerMin: tasksPerS === null ? null : Math.round(tasksPerS * 60),
    latencyMs: {
      avg: round(m.latency.avg),
      p50: round(m.latency.p50),
      p95: round(m.latency.p95),
      p99: round(m.latency.p99),
    },
    overheadMs: { p50: round(m.overhead.p50), p95: round(m.overhead.p95), p99: round(m.overhead.p99) },
    successRate: m.accepted > 0 ? share(m.completed, m.accepted) : null,
    lost: m.lost,
    duplicates: m.duplicates,
    ratioToCeiling:
      tasksPerS !== null && extra.ceilingMsgsPerS
        ? Math.round((tasksPerS / extra.ceilingMsgsPerS) * 10_000) / 10_000
        : null,
    submitted: m.submitted,
    completed: m.completed,
    failed: m.failed,
    refused: m.refused,
    retried: m.retried,
    handlerMs: { avg: round(m.handler.avg), p50: round(m.handler.p50), p95: round(m.handler.p95) },
    stagesMs: {
      accept: { p50: round(m.stages.accept.p50), p95: round(m.stages.accept.p95) },
      dispatch: { p50: round(m.stages.dispatch.p50), p95: round(m.stages.dispatch.p95) },
      run: { p50: round(m.stages.run.p50), p95: round(m.stages.run.p95) },
    },
    tierShare,
    durationS: extra.durationS,
    platformCpuMsPerTask: extra.costs?.platformCpuMsPerTask ?? null,
    mongoCommandsPerTask: extra.costs?.mongoCommandsPerTask ?? null,
    mongoScansPerTask: extra.costs?.mongoScansPerTask ?? null,
    kafkaRequestsPerTask: extra.costs?.kafkaRequestsPerTask ?? null,
    ...(extra.costs ? { costCounts: extra.costs.counts } : {}),
    processes: extra.processes ?? [],
    details: extra.details ?? {},
  };
}

/** A scenario that could not run (e.g. browse without a marketplace), with the reason. */
export function skippedResult(name: string, agents: number, reason: string): ScenarioResult {
  return {
    name,
    agents,
    offeredPerS: null,
    tasksPerS: null,
    tasksPerMin: null,
    latencyMs: { avg: null, p50: null, p95: null, p99: null },
    overheadMs: { p50: null, p95: null, p99: null },
    successRate: null,
    lost: 0,
    duplicates: 0,
    ratioToCeiling: null,
    submitted: 0,
    completed: 0,
    failed: 0,
    refused: 0,
    retried: 0,
    handlerMs: { avg: null, p50: null, p95: null },
    stagesMs: {
      accept: { p50: null, p95: null },
      dispatch: { p50: null, p95: null },
      run: { p50: null, p95: null },
    },
    tierShare: {},
    durationS: 0,
    platformCpuMsPerTask: null,
    mongoCommandsPerTask: null,
    mongoScansPerTask: null,
    kafkaRequestsPerTask: null,
    processes: [],
    details: {},
    skipped: reason,
  };
}

/** A figure for a table: `-` when missing. */
export const fmt = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
/** A share as a percentage for a table. */
export const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(v === 1 ? 0 : 2)}%`);

/** The p50, p95 and p99 columns of end-to-end latency and of overhead, as the result tables show them. */
export const latencyCells = (
  latency: { p50: number | null; p95: number | null; p99: number | null },
  overhead: { p50: number | null; p95: number | null; p99: number | null },
) => [latency, overhead].flatMap((l) => [fmt(l.p50, 1), fmt(l.p95, 1), fmt(l.p99, 1)]);

/** Left-aligned first column, right-aligned figures, as a Markdown table (readable in a terminal too). */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const TIER_LETTER: Record<string, string> = { PREMIUM: 'P', STANDARD: 'S', BUDGET: 'B', other: 'o' };

/** The tier shares as `P 77% S 19% B 4%`. */
export function tierText(shares: Record<string, number>): string {
  const order = ['PREMIUM', 'STANDARD', 'BUDGET', 'other'];
  return Object.entries(shares)
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([tier, s]) => `${TIER_LETTER[tier] ?? tier} ${Math.round(s * 100)}%`)
    .join(' ');
}

/** The summary table printed at the end and quoted in the README. */
export function resultsTable(results: readonly ScenarioResult[]): string {
  const header = [
    'scenario',
    'offered/s',
    'tasks/s',
    'tasks/min',
    'avg ms',
    'p50',
    'p95',
    'p99',
    'ovh p50',
    'ovh p95',
    'ovh p99',
    'success',
    'lost',
    'dup',
    'cpu ms/task',
    'tiers',
  ];
  const rows = results.map((r) =>
    r.skipped
      ? [r.name, 'skipped', '', '', '', '', '', '', '', '', '', '', '', '', '', r.skipped.slice(0, 40)]
      : [
          r.name,
          fmt(r.offeredPerS),
          fmt(r.tasksPerS, 1),
          fmt(r.tasksPerMin),
          fmt(r.latencyMs.avg, 1),
          ...latencyCells(r.latencyMs, r.overheadMs),
          pct(r.successRate),
          String(r.lost),
          String(r.duplicates),
          fmt(r.platformCpuMsPerTask, 2),
          tierText(r.tierShare),
        ],
  );
  return markdownTable(header, rows);
}

/** The live scenario's line: connections, delivery, latency, subgraph work and the gateway's cost. */
export function liveTable(results: readonly ScenarioResult[]): string | null {
  const rows = results.flatMap((r) => {
    const l = r.live;
    if (!l) return [];
    const errors = Object.values(l.errors).reduce((a, b) => a + b, 0);
    const closes = Object.values(l.closeCodes).reduce((a, b) => a + b, 0);
    return [
      [
        r.name,
        String(l.clients),
        `${fmt(l.connectMs.p50)} / ${fmt(l.connectMs.p99)} ms, ${fmt(l.connectMs.totalS, 1)} s`,
        `${l.delivered}/${l.expected} (${pct(l.deliveredShare)})`,
        String(errors),
        String(closes),
        `${fmt(l.latencyMs.p50)} / ${fmt(l.latencyMs.p95)} / ${fmt(l.latencyMs.p99)}`,
        l.gatewayEventAgeMs ? `${fmt(l.gatewayEventAgeMs.p50)} / ${fmt(l.gatewayEventAgeMs.p99)}` : '-',
        fmt(l.subgraphRequests.perEvent, 1),
        fmt(l.gateway.cpuMsPerSPer1000, 1),
        fmt(l.gateway.rssMbPer1000, 1),
      ],
    ];
  });
  if (rows.length === 0) return null;
  return markdownTable(
    [
      'live',
      'clients',
      'connect p50 / p99, total',
      'delivered/expected',
      'errors',
      'closed',
      'event->client p50 / p95 / p99 ms',
      'age at gateway p50 / p99 ms',
      'subgraph req/event',
      'gw cpu ms/s per 1k',
      'gw MB per 1k',
    ],
    rows,
  );
}

/** CPU% and RSS (start -> end, and the peak) of every process, one column per scenario. */
export function processTable(results: readonly ScenarioResult[]): string {
  const ran = results.filter((r) => !r.skipped && r.processes.length > 0);
  const names = [...new Set(ran.flatMap((r) => r.processes.map((p) => p.name)))];
  const header = ['process (cpu% / rss MB start -> end, max)', ...ran.map((r) => r.name)];
  const rows = names.map((name) => [
    name,
    ...ran.map((r) => {
      const p = r.processes.find((x) => x.name === name);
      return p
        ? `${fmt(p.cpuPercent)} / ${fmt(p.rssStartMb)} -> ${fmt(p.rssEndMb)}, ${fmt(p.rssMaxMb)}`
        : '-';
    }),
  ]);
  return markdownTable(header, rows);
}

/**
 * What a completed task cost, one column per scenario: CPU ms of the whole platform and of each
 * process, MongoDB commands and Kafka requests (the counts to compare two versions by on a noisy
 * machine; see costs.ts).
 */
export function costTable(results: readonly ScenarioResult[]): string | null {
  const ran = results.filter((r) => !r.skipped && r.completed > 0 && r.processes.length > 0);
  if (ran.length === 0) return null;
  const names = [...new Set(ran.flatMap((r) => r.processes.map((p) => p.name)))].filter((n) => n !== 'bench');
  const perTask = (r: ScenarioResult, ms: number | null) => (ms === null ? null : ms / r.completed);
  const kafkaNames = [
    ...new Set(ran.flatMap((r) => Object.keys(r.costCounts?.kafkaRequestsByProcess ?? {}))),
  ];
  const rows = [
    ['platform CPU ms', ...ran.map((r) => fmt(r.platformCpuMsPerTask, 2))],
    ['MongoDB commands', ...ran.map((r) => fmt(r.mongoCommandsPerTask, 2))],
    ['MongoDB collection scans', ...ran.map((r) => fmt(r.mongoScansPerTask, 2))],
    ['Kafka requests', ...ran.map((r) => fmt(r.kafkaRequestsPerTask?.all, 2))],
    ['  Produce', ...ran.map((r) => fmt(r.kafkaRequestsPerTask?.produce, 2))],
    ['  Fetch', ...ran.map((r) => fmt(r.kafkaRequestsPerTask?.fetch, 2))],
    ...kafkaNames.map((name) => [
      `Kafka requests: ${name}`,
      ...ran.map((r) => {
        const counts = r.costCounts?.kafkaRequestsByProcess?.[name];
        return fmt(perTask(r, counts ? Object.values(counts).reduce((a, b) => a + b, 0) : null), 2);
      }),
    ]),
    ...names.map((name) => [
      `CPU ms: ${name}`,
      ...ran.map((r) => fmt(perTask(r, r.processes.find((p) => p.name === name)?.cpuMs ?? null), 2)),
    ]),
  ];
  return markdownTable(['per completed task', ...ran.map((r) => r.name)], rows);
}

/** Scenarios long enough for a memory trend to mean something (a minute has one or two GC cycles). */
const MEMORY_MIN_S = 120;

/**
 * The course of each process's resident set over the long scenarios: its median per tenth of the
 * run (MB) and its trend over the second half (MB/min). A plateau reads as flat tenths and a trend
 * near zero; a leak as rising tenths and a steady positive trend.
 */
export function memoryTable(results: readonly ScenarioResult[]): string | null {
  const long = results.filter((r) => !r.skipped && r.durationS >= MEMORY_MIN_S);
  if (long.length === 0) return null;
  const header = [
    'scenario / process',
    ...Array.from({ length: 10 }, (_, i) => `${i + 1}/10`),
    'MB/min, 2nd half',
  ];
  const rows = long.flatMap((r) =>
    r.processes
      .filter((p) => p.rssTimelineMb)
      .map((p) => [
        `${r.name} / ${p.name}`,
        ...p.rssTimelineMb!.map((mb) => fmt(mb)),
        fmt(p.rssLateTrendMbPerMin, 2),
      ]),
  );
  return rows.length > 0 ? markdownTable(header, rows) : null;
}
