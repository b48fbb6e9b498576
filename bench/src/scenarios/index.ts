import type { ScenarioName } from '../args';
import type { BenchContext } from '../context';
import { hasQueryField } from '../graphql';
import { bursts, constantRate, inFlightWindow, rampSteps } from '../pacing';
import type { ScenarioResult } from '../report';
import { scenarioResult, skippedResult } from '../report';
import { createProcessSampler } from '../proc';
import { summarize, round } from '../stats';
import { readCostCounters, taskCosts } from '../costs';
import { live } from './live';
import { metricsTargets, runLoad } from './load';

/** A constant offered rate for the whole duration. */
async function steady(ctx: BenchContext): Promise<ScenarioResult> {
  const { rate, durationS, agents } = ctx.options;
  const run = await runLoad(ctx, 'steady', constantRate(rate, durationS * 1000));
  return scenarioResult('steady', run.measurement, {
    agents,
    offeredPerS: rate,
    durationS: round(run.offeredS) ?? durationS,
    processes: run.processes,
    costs: run.costs,
    details: { pendingAfterDrain: run.pendingAfterDrain, retried: run.measurement.retried },
  });
}

/**
 * The most the platform does with a bounded backlog: at most `window` tasks in flight, the next
 * offered as soon as one settles, for `maxDurationS`.
 */
async function max(ctx: BenchContext): Promise<ScenarioResult> {
  const { window, maxDurationS, agents } = ctx.options;
  const run = await runLoad(
    ctx,
    'max',
    inFlightWindow(window, maxDurationS * 1000, () => ctx.tracker.settled('max')),
  );
  return scenarioResult('max', run.measurement, {
    agents,
    offeredPerS: null,
    durationS: round(run.offeredS) ?? maxDurationS,
    processes: run.processes,
    costs: run.costs,
    details: { window, pendingAfterDrain: run.pendingAfterDrain, retried: run.measurement.retried },
  });
}

/** Several thousand tasks at once, a few times, with a pause between. */
async function burst(ctx: BenchContext): Promise<ScenarioResult> {
  const { burstCount, burstSize, agents, quick } = ctx.options;
  const gapMs = quick ? 0 : 20_000;
  const run = await runLoad(ctx, 'burst', bursts(burstCount, burstSize, Math.max(1, gapMs)));
  return scenarioResult('burst', run.measurement, {
    agents,
    offeredPerS: null,
    durationS: round(run.offeredS) ?? 0,
    processes: run.processes,
    costs: run.costs,
    details: { bursts: burstCount, burstSize, gapS: gapMs / 1000, pendingAfterDrain: run.pendingAfterDrain },
  });
}

/**
 * The steady rate while 10% of the fleet breaks: at a quarter of the run one runtime's instances start
 * failing every attempt, at half another runtime is killed with SIGKILL. Breakers, health and
 * retries have to route around both; afterwards both runtimes start afresh for what follows.
 */
async function failures(ctx: BenchContext): Promise<ScenarioResult> {
  const { rate, durationS, agents } = ctx.options;
  const errors = ctx.fleet.find((f) => f.plan.role === 'errors');
  const crash = ctx.fleet.find((f) => f.plan.role === 'crash');
  const durationMs = durationS * 1000;
  const tripsBefore = new Map(ctx.breakerTrips());
  const events: string[] = [];
  const run = await runLoad(ctx, 'failures', constantRate(rate, durationMs), {
    hooks: [
      {
        atMs: durationMs * 0.25,
        run: () => {
          errors?.toggleErrors();
          events.push(
            `${((durationMs * 0.25) / 1000).toFixed(1)} s: ${errors?.plan.size ?? 0} instances fail every attempt`,
          );
        },
      },
      {
        atMs: durationMs * 0.5,
        run: async () => {
          await crash?.kill();
          events.push(
            `${((durationMs * 0.5) / 1000).toFixed(1)} s: ${crash?.plan.size ?? 0} instances crashed (SIGKILL)`,
          );
        },
      },
    ],
  });
  const flaky = new Set(
    [...ctx.breakerTrips().keys()].filter(
      (id) => id.startsWith('bench-errors:') || id.startsWith('bench-crash:'),
    ),
  );
  let trips = 0;
  for (const [id, n] of ctx.breakerTrips()) trips += n - (tripsBefore.get(id) ?? 0);
  ctx.log('[bench] failures: restarting the broken runtimes for what follows');
  await errors?.stop();
  await errors?.start();
  await crash?.start();
  return scenarioResult('failures', run.measurement, {
    agents,
    offeredPerS: rate,
    durationS: round(run.offeredS) ?? durationS,
    processes: run.processes,
    costs: run.costs,
    details: {
      injected: events,
      failingInstances: (errors?.plan.size ?? 0) + (crash?.plan.size ?? 0),
      breakerTrips: trips,
      instancesTripped: flaky.size,
      retried: run.measurement.retried,
      pendingAfterDrain: run.pendingAfterDrain,
    },
  });
}

interface RampStepResult {
  rate: number;
  tasksPerS: number | null;
  p95Ms: number | null;
  overheadP95Ms: number | null;
  successRate: number | null;
  lost: number;
  ok: boolean;
  why?: string;
}

/**
 * Raises the offered rate step by step (each step drained before the next) until a step's p95
 * passes 200 ms (the seeds' target), its success drops below 99%, or it cannot keep up (achieved
 * below 90% of offered): the knee is the last step that held.
 */
async function ramp(ctx: BenchContext): Promise<ScenarioResult> {
  const { rate, durationS, agents, quick } = ctx.options;
  const holdMs = Math.max(3, Math.round(durationS / (quick ? 4 : 6))) * 1000;
  const stepSize = Math.max(25, Math.round(rate / 5 / 25) * 25);
  const steps = rampSteps(stepSize, Math.max(rate * 4, stepSize * 4), stepSize, holdMs);
  const maxSteps = quick ? 6 : steps.length;
  const sampler = createProcessSampler();
  const countersBefore = await readCostCounters(metricsTargets(ctx), ctx.platform.mongoUrl);
  sampler.start(ctx.processes());
  const results: RampStepResult[] = [];
  let knee: { step: number; result: ReturnType<typeof scenarioResult> } | null = null;
  let offered = 0;
  let index = 0;
  for (const [i, s] of steps.slice(0, maxSteps).entries()) {
    const run = await runLoad(ctx, 'ramp', constantRate(s.rate, s.durationMs), {
      step: i,
      drainMs: 15_000,
      label: `ramp ${s.rate}/s`,
      sample: false,
      firstIndex: index,
    });
    index += Math.floor((s.rate * s.durationMs) / 1000);
    offered += run.offeredS;
    const r = scenarioResult('ramp', run.measurement, {
      agents,
      offeredPerS: s.rate,
      durationS: run.offeredS,
    });
    const why =
      r.latencyMs.p95 === null || r.latencyMs.p95 > 200
        ? `p95 ${r.latencyMs.p95} ms > 200 ms`
        : (r.successRate ?? 0) < 0.99
          ? `success ${r.successRate} < 99%`
          : (r.tasksPerS ?? 0) < 0.9 * s.rate
            ? `achieved ${r.tasksPerS}/s < 90% of ${s.rate}/s`
            : r.lost > 0
              ? `${r.lost} lost`
              : undefined;
    results.push({
      rate: s.rate,
      tasksPerS: r.tasksPerS,
      p95Ms: r.latencyMs.p95,
      overheadP95Ms: r.overheadMs.p95,
      successRate: r.successRate,
      lost: r.lost,
      ok: why === undefined,
      ...(why ? { why } : {}),
    });
    ctx.log(
      `[bench] ramp ${s.rate}/s: achieved ${r.tasksPerS}/s, p95 ${r.latencyMs.p95} ms${why ? ` -> knee passed (${why})` : ''}`,
    );
    if (why) break;
    knee = { step: i, result: r };
  }
  const all = ctx.tracker.measure('ramp', (id) => ctx.tierOf(id));
  const base = knee?.result ?? scenarioResult('ramp', all, { agents, offeredPerS: null, durationS: offered });
  const processes = sampler.stop();
  // Over every step, like lost and duplicates: a cost per task at one rate would need a window of its own.
  const costs = taskCosts(
    countersBefore,
    await readCostCounters(metricsTargets(ctx), ctx.platform.mongoUrl),
    processes,
    all.completed,
  );
  return {
    ...base,
    platformCpuMsPerTask: costs.platformCpuMsPerTask,
    mongoCommandsPerTask: costs.mongoCommandsPerTask,
    mongoScansPerTask: costs.mongoScansPerTask,
    kafkaRequestsPerTask: costs.kafkaRequestsPerTask,
    costCounts: costs.counts,
    lost: all.lost,
    duplicates: all.duplicates,
    submitted: all.submitted,
    completed: all.completed,
    failed: all.failed,
    durationS: round(offered) ?? offered,
    processes,
    details: {
      kneePerS: knee ? results[knee.step]!.rate : null,
      steps: results,
      note: 'figures are those of the last step that held (the knee); lost, duplicates and the costs per task cover every step',
    },
  };
}

const LISTINGS_QUERY = `query { listings(first: 20, sort: RATING, filter: { category: MARKETING }) { totalCount edges { node { id name } } } }`;

/** Marketplace listing queries through the gateway at a fixed number of concurrent clients. */
async function browse(ctx: BenchContext): Promise<ScenarioResult> {
  const { durationS, agents, browseConcurrency } = ctx.options;
  if (!(await hasQueryField(ctx.visitor, 'listings'))) {
    const reason = 'the gateway has no Query.listings field (marketplace subgraph not composed yet)';
    ctx.log(`[bench] browse skipped: ${reason}`);
    return skippedResult('browse', agents, reason);
  }
  const sampler = createProcessSampler();
  sampler.start(ctx.processes());
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const errors = new Map<string, number>();
  const start = performance.now();
  const end = start + durationS * 1000;
  let firstError: string | undefined;
  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await ctx.visitor<{ listings: { totalCount: number } }>(LISTINGS_QUERY);
        const t1 = performance.now();
        if (res.status === 200 && res.data?.listings && !res.errors?.length) {
          ok++;
          latencies.push(t1 - t0);
        } else {
          failed++;
          const raw = res.errors?.[0]?.extensions?.code;
          const code = typeof raw === 'string' ? raw : `HTTP ${res.status}`;
          errors.set(code, (errors.get(code) ?? 0) + 1);
          firstError ??= res.errors?.[0]?.message;
        }
      } catch (err) {
        failed++;
        errors.set('NETWORK', (errors.get('NETWORK') ?? 0) + 1);
        firstError ??= (err as Error).message;
      }
    }
  };
  const ticker = setInterval(
    () =>
      ctx.progress.update(
        (performance.now() - start) / (durationS * 1000),
        `browse: ${ok} queries, ${failed} failed`,
      ),
    200,
  );
  await Promise.all(Array.from({ length: browseConcurrency }, client));
  clearInterval(ticker);
  ctx.progress.done();
  const elapsed = (performance.now() - start) / 1000;
  const lat = summarize(latencies);
  return {
    ...skippedResult('browse', agents, ''),
    skipped: undefined,
    tasksPerS: round(ok / elapsed),
    tasksPerMin: Math.round((ok / elapsed) * 60),
    latencyMs: { avg: round(lat.avg), p50: round(lat.p50), p95: round(lat.p95), p99: round(lat.p99) },
    successRate: ok + failed > 0 ? Math.round((ok / (ok + failed)) * 10_000) / 10_000 : null,
    submitted: ok + failed,
    completed: ok,
    failed,
    durationS: round(elapsed) ?? elapsed,
    processes: sampler.stop(),
    details: {
      unit: 'queries (tasksPerS = queries/s, closed loop)',
      concurrency: browseConcurrency,
      query: LISTINGS_QUERY,
      errors: Object.fromEntries(errors),
      ...(firstError ? { firstError } : {}),
    },
  };
}

/**
 * Unmeasured load before the scenarios: the JVMs of Kafka and the MongoDB server and the services'
 * V8 compile their hot paths during the first thousands of tasks, and the first scenario would
 * otherwise measure that instead of the platform. Half the steady rate, for `warmupS`.
 */
export async function warmUp(ctx: BenchContext): Promise<void> {
  const { rate, warmupS } = ctx.options;
  if (warmupS <= 0) return;
  const run = await runLoad(ctx, 'warmup', constantRate(Math.max(1, rate / 2), warmupS * 1000), {
    sample: false,
  });
  const m = run.measurement;
  ctx.log(
    `[bench] warm-up: ${m.completed} of ${m.submitted} tasks completed at ${Math.round(rate / 2)}/s offered (not reported)`,
  );
}

export const SCENARIO_RUNNERS: Record<ScenarioName, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  steady,
  max,
  burst,
  failures,
  ramp,
  browse,
  live,
};
