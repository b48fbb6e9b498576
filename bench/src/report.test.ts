import type { LiveFigures, Percentiles, ScenarioResult } from './report';
import {
  tracingFigures,
  costTable,
  liveTable,
  memoryTable,
  markdownTable,
  processTable,
  resultsTable,
  scenarioResult,
  skippedResult,
  tierText,
} from './report';
import { escapeXml, niceCeiling, renderChart } from './svg';
import { summarize } from './stats';
import type { Measurement } from './tracker';

const measurement = (over: Partial<Measurement> = {}): Measurement => ({
  submitted: 1000,
  accepted: 1000,
  refused: 0,
  final: 1000,
  completed: 998,
  failed: 2,
  lost: 0,
  duplicates: 0,
  retried: 5,
  latency: summarize([40, 50, 60, 200]),
  overhead: summarize([5, 6, 7, 30]),
  handler: summarize([35, 44, 53, 170]),
  stages: { accept: summarize([2, 3]), dispatch: summarize([1, 2]), run: summarize([40, 60]) },
  spanMs: 4990,
  byTier: { PREMIUM: 778, STANDARD: 190, BUDGET: 30 },
  ...over,
});

describe('results', () => {
  it('turns a measurement into the JSON entry the issue names', () => {
    const r = scenarioResult('steady', measurement(), {
      agents: 120,
      offeredPerS: 200,
      durationS: 5,
      ceilingMsgsPerS: 20_000,
    });
    expect(r).toMatchObject({
      name: 'steady',
      agents: 120,
      offeredPerS: 200,
      tasksPerS: 200,
      tasksPerMin: 12_000,
      latencyMs: { avg: 87.5, p50: 50, p95: 200, p99: 200 },
      overheadMs: { p50: 6, p95: 30, p99: 30 },
      successRate: 0.998,
      lost: 0,
      duplicates: 0,
      ratioToCeiling: 0.01,
    });
    expect(r.tierShare).toEqual({ BUDGET: 0.0301, PREMIUM: 0.7796, STANDARD: 0.1904 });
    expect(Object.keys(JSON.parse(JSON.stringify(r)) as object)).toEqual(
      expect.arrayContaining(['name', 'offeredPerS', 'tasksPerMin', 'overheadMs']),
    );
  });

  it('renders the summary table, tier shares and process figures', () => {
    const steady = scenarioResult('steady', measurement(), {
      agents: 120,
      offeredPerS: 200,
      durationS: 5,
      processes: [
        {
          name: 'orchestration',
          pid: 1,
          cpuPercent: 42.5,
          cpuMs: 2125,
          rssMaxMb: 230,
          rssStartMb: 180,
          rssEndMb: 210,
        },
        { name: 'bench', pid: 2, cpuPercent: 90, cpuMs: 4500, rssMaxMb: 1, rssStartMb: 1, rssEndMb: 1 },
      ],
      costs: {
        platformCpuMsPerTask: 2.13,
        mongoCommandsPerTask: 4.5,
        mongoScansPerTask: 0,
        kafkaRequestsPerTask: { produce: 0.4, fetch: 0.35, all: 1.2 },
        counts: {
          mongoCommands: {},
          mongoByCollection: {},
          mongoScans: {},
          kafkaRequests: {},
          kafkaRequestsByProcess: { orchestration: { Produce: 300, Fetch: 200 } },
          unreachable: [],
        },
      },
    });
    const browse = skippedResult('browse', 120, 'no listings field');
    const table = resultsTable([steady, browse]);
    expect(table.split('\n')[0]).toMatch(/^\| scenario \| offered\/s \| tasks\/s/);
    expect(table).toContain('| steady   |       200 |   200.0 |     12000 |');
    expect(table).toContain('99.80%');
    expect(table).toContain('P 78% S 19% B 3%');
    expect(table).toMatch(/\| cpu ms\/task \| +tiers \|$/m);
    expect(table).toMatch(/\| +2\.13 \| +P 78%/);
    // Costs per completed task: the platform's, then each process's but the bench's own.
    const costs = costTable([steady, browse])!;
    expect(costs.split('\n')[0]).toMatch(/^\| per completed task +\| steady \|$/);
    expect(costs).toMatch(/\| platform CPU ms +\| +2\.13 \|/);
    expect(costs).toMatch(/\| MongoDB commands +\| +4\.50 \|/);
    expect(costs).toMatch(/\| +Produce +\| +0\.40 \|/);
    // Each process's Kafka requests: which hop asks the broker most.
    expect(costs).toMatch(
      new RegExp(`\\| Kafka requests: orchestration +\\| +${(500 / steady.completed).toFixed(2)} \\|`),
    );
    expect(costs).toMatch(
      new RegExp(`\\| CPU ms: orchestration +\\| +${(2125 / steady.completed).toFixed(2)} \\|`),
    );
    expect(costs).not.toContain('CPU ms: bench');
    expect(steady).toMatchObject({ platformCpuMsPerTask: 2.13, mongoCommandsPerTask: 4.5 });
    expect(table).toMatch(/browse .*skipped/);
    expect(tierText({ other: 0.1, BUDGET: 0.2, PREMIUM: 0.7 })).toBe('P 70% B 20% o 10%');
    const processes = processTable([steady, browse]);
    expect(processes.split('\n')[0]).toMatch(
      /^\| process \(cpu% \/ rss MB start -> end, max\) \| +steady \|$/,
    );
    expect(processes).toMatch(/\| orchestration +\| 43 \/ 180 -> 210, 230 \|/);
    // The results JSON carries RSS at the start and the end of the scenario, per process.
    const json = JSON.parse(JSON.stringify(steady)) as ScenarioResult;
    expect(json.processes[0]).toMatchObject({ rssStartMb: 180, rssEndMb: 210 });
    expect(markdownTable(['a', 'b'], [['x', '1']])).toBe('| a | b |\n|:--|--:|\n| x | 1 |');
    // A five-second scenario is too short for a memory trend: no table.
    expect(memoryTable([steady, browse])).toBeNull();
  });

  it("prints the live line: delivery, latency to the client and the events' age at the gateway", () => {
    const p = (p50: number, p99: number): Percentiles => ({ count: 10, p50, p95: p99, p99, max: p99 });
    const live: LiveFigures = {
      clients: 300,
      byFeed: {
        activityFeed: { clients: 90, events: 10, expected: 900, delivered: 900, latencyMs: p(120, 300) },
      },
      connectMs: { ...p(20, 40), totalS: 1.5, failed: 0 },
      expected: 900,
      delivered: 900,
      deliveredShare: 1,
      missed: 0,
      missedBeforeFirst: 0,
      duplicates: 0,
      foreign: 0,
      unmatched: 0,
      errors: {},
      closeCodes: {},
      latencyMs: p(120, 300),
      eventTimeLatencyMs: p(130, 310),
      gatewayEventAgeMs: { count: 10, mean: 40, p50: 30, p99: 240 },
      subgraphRequests: {
        bySubgraph: {},
        clientRequests: 0,
        eventsWithAudience: 10,
        perEvent: 0.2,
        perDelivery: 0,
      },
      gateway: {
        rssBeforeMb: 100,
        rssConnectedMb: 110,
        rssEndMb: 112,
        rssMbPer1000: 33,
        connectCpuMsPer1000: 900,
        cpuMsPerSPer1000: 40,
      },
    };
    const result = {
      ...scenarioResult('live', measurement(), { agents: 120, offeredPerS: 100, durationS: 15 }),
      live,
    };
    const table = liveTable([result])!;
    expect(table.split('\n')[0]).toMatch(
      /event->client p50 \/ p95 \/ p99 ms \| age at gateway p50 \/ p99 ms \|/,
    );
    expect(table).toMatch(/\| +900\/900 \(100%\) \|.*\| +120 \/ 300 \/ 300 \| +30 \/ 240 \|/);
    // Without the gateway's metrics the age is left out, not guessed.
    expect(liveTable([{ ...result, live: { ...live, gatewayEventAgeMs: null } }])).toMatch(
      /\| +- \| +0\.2 \|/,
    );
    expect(
      liveTable([scenarioResult('steady', measurement(), { agents: 120, offeredPerS: 100, durationS: 15 })]),
    ).toBeNull();
  });

  it('shows the course of resident memory for long scenarios', () => {
    const long = scenarioResult('steady', measurement(), {
      agents: 120,
      offeredPerS: 100,
      durationS: 600,
      processes: [
        {
          name: 'orchestration',
          pid: 1,
          cpuPercent: 40,
          cpuMs: 240_000,
          rssMaxMb: 262,
          rssStartMb: 167,
          rssEndMb: 203,
          rssTimelineMb: [170, 190, 195, 196, 194, 197, 195, 196, 195, 196],
          rssLateTrendMbPerMin: 0.12,
        },
      ],
    });
    const table = memoryTable([long])!;
    expect(table.split('\n')[0]).toMatch(
      /^\| scenario \/ process +\| 1\/10 \|.*\| 10\/10 \| MB\/min, 2nd half \|$/,
    );
    expect(table).toMatch(/\| steady \/ orchestration \| +170 \| +190 \|.*\| +196 \| +0\.12 \|$/);
  });

  it('draws a chart a browser opens: throughput bars, latency percentiles, the target line', () => {
    const results: ScenarioResult[] = [
      scenarioResult('steady', measurement(), { agents: 120, offeredPerS: 200, durationS: 5 }),
      scenarioResult('burst', measurement({ latency: summarize([100, 2000, 9000]) }), {
        agents: 120,
        offeredPerS: null,
        durationS: 5,
      }),
      skippedResult('browse', 120, 'no listings'),
    ];
    const svg = renderChart(results, { title: 'bench <run> & more', targetPerS: 200 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('bench &#60;run&#62; &#38; more');
    expect(svg).toContain('target 200/s');
    expect(svg.match(/<rect /g)!.length).toBeGreaterThanOrEqual(1 + 2 + 6 + 3);
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('>browse<');
    expect(escapeXml(`"a'`)).toBe('&#34;a&#39;');
    expect([niceCeiling(0), niceCeiling(180), niceCeiling(201), niceCeiling(4200)]).toEqual([
      1, 200, 500, 5000,
    ]);
  });
});

describe('tracing figures', () => {
  it('divides the spans a --tracing run exported by its finished tasks, to one decimal', () => {
    // 61,234 spans over 2,500 tasks: 24.49 -> 24.5
    expect(tracingFigures(61_234, 2_500)).toEqual({ spansReceived: 61_234, spansPerFinishedTask: 24.5 });
    expect(tracingFigures(10, 0)).toEqual({ spansReceived: 10, spansPerFinishedTask: null });
  });
});
