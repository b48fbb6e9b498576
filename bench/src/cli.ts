import { copyFileSync, createWriteStream, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_RUNTIME_FIRST_PORT } from '@waooaw/shared';
import { startOtlpReceiver } from '@waooaw/shared/testing';
import { parseBenchArgs, USAGE } from './args';
import { measureCeiling } from './ceiling';
import type { BenchContext } from './context';
import type { FleetProcess } from './fleet';
import { benchHandles, fleetProcess, planBenchFleet, tierMap } from './fleet';
import { gatewayClient, healthyInstances, operatorToken } from './graphql';
import { createBenchKafka } from './kafka';
import type { BenchPlatform } from './platform';
import { ensurePlatform } from './platform';
import { createProgress } from './progress';
import type { BenchReport, ScenarioResult } from './report';
import { costTable, liveTable, memoryTable, processTable, resultsTable, tracingFigures } from './report';
import { SCENARIO_RUNNERS, warmUp } from './scenarios';
import { openFilesShortage } from './scenarios/live';
import { renderChart } from './svg';
import type { BaselineResult } from './baselines/bullmq';
import { runBullmqBaseline } from './baselines/bullmq';
import { baselineTable } from './baselines/compare';
import { constantRate } from './pacing';
import { TaskTracker } from './tracker';
import { runCli } from './run-cli';
import { startRun } from './run';

const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const argv = process.argv.slice(2);

async function main(options: ReturnType<typeof parseBenchArgs>): Promise<number> {
  // Before anything starts: ten thousand sockets need as many open files.
  const shortage = options.scenarios.includes('live') ? openFilesShortage(options.liveClients) : null;
  if (shortage) {
    console.error(`[bench] live: ${shortage}`);
    return 2;
  }
  const { startedAt, runId, outDir, cleanups, stopAll, interrupted } = startRun({
    outDir: options.outDir,
    tag: 'bench',
    log,
  });
  const logFile = path.join(outDir, `run-${runId}.log`);
  log(
    `[bench] run ${runId}: ${options.scenarios.join(', ')}${options.quick ? ' (quick)' : ''}, ${options.agents} agents, ${options.scenarios.length === 1 && options.scenarios[0] === 'live' ? options.liveRate : options.rate} tasks/s offered`,
  );

  try {
    // Set before anything is spawned: the services and the fleet's runtimes inherit the variables.
    const spans = options.tracing ? await startOtlpReceiver({ keep: false }) : null;
    if (spans) {
      cleanups.push(() => spans.stop());
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = spans.endpoint;
      process.env.OTEL_BSP_SCHEDULE_DELAY ??= '1000';
      log(`[bench] tracing on: every process exports its spans to ${spans.endpoint}`);
    }
    const platform: BenchPlatform = await ensurePlatform({ portOffset: options.portOffset, log, logFile });
    if (spans && !platform.startedServices)
      log('[bench] attention: the services were already running; only the fleet exports spans');
    cleanups.push(() => platform.stop());

    const tracker = new TaskTracker();
    const trips = new Map<string, number>();
    let bytes = 0;
    let messages = 0;
    const kafka = await createBenchKafka(platform, runId, {
      onTaskUpdated: (id, update, at) => tracker.onTaskUpdated(id, update, at),
      onAttemptFinished: (id, attempt) => tracker.onAttemptFinished(id, attempt),
      onCircuitChanged: (c) => {
        if (c.to === 'OPEN') trips.set(c.instanceId, (trips.get(c.instanceId) ?? 0) + 1);
      },
      onBytes: (n) => {
        bytes += n;
        messages++;
      },
    });
    cleanups.push(() => kafka.close());

    const token = await operatorToken();
    const operator = gatewayClient(platform.gatewayUrl, token);
    const visitor = gatewayClient(platform.gatewayUrl, null);

    const handles = benchHandles();
    const plans = planBenchFleet(options.agents);
    const tiers = tierMap(plans, handles);
    const fleetLog = createWriteStream(logFile, { flags: 'a' });
    const fleet: FleetProcess[] = plans
      .filter((p) => p.size > 0)
      .map((p, i) =>
        fleetProcess(p, {
          brokers: platform.brokers,
          namespace: platform.namespace,
          port: BENCH_RUNTIME_FIRST_PORT + i + options.portOffset,
          handles,
          env: process.env,
          log: fleetLog,
        }),
      );
    log(
      `[bench] fleet: ${options.agents} instances of ${handles.length} agents in ${fleet.length} runtimes (${plans.map((p) => `${p.runtimeId} ${p.size}`).join(', ')}); tiers ${plans[0]!.tiers}`,
    );
    await Promise.all(fleet.map((f) => f.start()));
    cleanups.push(async () => {
      await Promise.all(fleet.map((f) => f.stop()));
      fleetLog.end();
    });

    const waitFleetHealthy = async (timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const counts = await Promise.all(
          fleet.map(async (f) =>
            f.isRunning() ? await healthyInstances(operator, f.plan.runtimeId).catch(() => -1) : f.plan.size,
          ),
        );
        if (counts.every((n, i) => n >= fleet[i]!.plan.size)) break;
        if (Date.now() > deadline) {
          log(
            `[bench] attention: not every instance is up (HEALTHY or DEGRADED) yet (${counts.join(', ')} of ${fleet.map((f) => f.plan.size).join(', ')}); going on`,
          );
          break;
        }
        await sleep(500);
      }
      // Orchestration hears the same changes a moment after discovery makes them.
      await sleep(1000);
    };
    await waitFleetHealthy();

    const progress = createProgress();
    const ctx: BenchContext = {
      options,
      runId,
      platform,
      kafka,
      tracker,
      operator,
      visitor,
      fleet,
      tierOf: (id) => tiers.get(id),
      breakerTrips: () => trips,
      processes: () => [
        ...platform.processes(),
        ...fleet.flatMap((f) =>
          f.pid && f.isRunning() ? [{ name: `runtime ${f.plan.runtimeId}`, pid: f.pid }] : [],
        ),
        { name: 'bench', pid: process.pid },
      ],
      progress,
      log: (line) => {
        progress.done();
        log(line);
      },
      waitFleetHealthy,
    };

    if (options.scenarios.some((s) => s !== 'browse')) await warmUp(ctx);
    const results: ScenarioResult[] = [];
    for (const name of options.scenarios) {
      if (interrupted()) break;
      log(`[bench] scenario ${name}`);
      const result = await SCENARIO_RUNNERS[name](ctx);
      results.push(result);
      log(
        result.skipped
          ? `[bench] ${name}: skipped (${result.skipped})`
          : `[bench] ${name}: ${result.tasksPerS}/s (${result.tasksPerMin}/min), p95 ${result.latencyMs.p95} ms, overhead p95 ${result.overheadMs.p95} ms, success ${((result.successRate ?? 0) * 100).toFixed(2)}%, lost ${result.lost}, duplicates ${result.duplicates}; stages p50/p95 ms: accept ${result.stagesMs.accept.p50}/${result.stagesMs.accept.p95}, dispatch ${result.stagesMs.dispatch.p50}/${result.stagesMs.dispatch.p95}, run ${result.stagesMs.run.p50}/${result.stagesMs.run.p95}`,
      );
      await ctx.waitFleetHealthy(30_000);
    }

    // The plain-queue baseline, in the same run: what a user would pick instead of the platform, on
    // the same fleet (tiers, capacity, handler times), mix and pacing as the scenario it matches.
    // The platform is idle meanwhile (its heartbeats and sweeps still run beside it).
    const baselines: BaselineResult[] = [];
    for (const r of results) {
      if (!options.baseline || interrupted() || r.skipped) continue;
      if (r.name !== 'steady' && r.name !== 'max') continue;
      log(`[bench] baseline: BullMQ, as ${r.name}`);
      const common = { agents: options.agents, tierShare: r.tierShare, runId, log };
      const b = await runBullmqBaseline(
        r.name,
        r.name === 'steady'
          ? {
              ...common,
              profile: constantRate(options.rate, options.durationS * 1000),
              drainMs: options.drainS * 1000,
            }
          : { ...common, window: options.window, durationMs: options.maxDurationS * 1000 },
      );
      baselines.push(b);
      log(
        b.skipped
          ? `[bench] baseline ${r.name}: skipped (${b.skipped})`
          : `[bench] baseline ${r.name}: ${b.tasksPerS}/s, overhead p50/p95 ${b.overheadMs.p50}/${b.overheadMs.p95} ms, ${b.cpuMsPerTask ?? '-'} CPU ms per task, lost ${b.lost}, duplicates ${b.duplicates}`,
      );
    }

    let kafkaCeiling: BenchReport['kafkaCeiling'] = null;
    if (options.ceiling && !interrupted()) {
      const messageBytes = messages > 0 ? Math.round(bytes / messages) : 1024;
      log(
        `[bench] raw kafkajs ceiling: ${options.quick ? 20_000 : 100_000} messages of ${messageBytes} bytes`,
      );
      kafkaCeiling = await measureCeiling(kafka.bus, {
        messages: options.quick ? 20_000 : 100_000,
        messageBytes,
        runId,
      });
      log(`[bench] ceiling: ${kafkaCeiling.msgsPerS} msgs/s`);
    }
    const steady = results.find((r) => r.name === 'steady' && !r.skipped);
    for (const r of results)
      if (kafkaCeiling && r.tasksPerS !== null)
        r.ratioToCeiling = Math.round((r.tasksPerS / kafkaCeiling.msgsPerS) * 10_000) / 10_000;
    const report: BenchReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: `npm run bench -- ${argv.join(' ')}`.trim(),
      machine: {
        cpus: os.cpus().length,
        loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
        node: process.version,
      },
      kafkaCeiling,
      ratioToCeiling: steady?.ratioToCeiling ?? null,
      scenarios: results,
      ...(baselines.length > 0 ? { baselines: { bullmq: baselines } } : {}),
      ...(spans ? { tracing: tracingFigures(spans.received(), tracker.finishedInAll()) } : {}),
    };
    const stamp = runId;
    const json = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(path.join(outDir, 'latest.json'), json);
    copyFileSync(path.join(outDir, 'latest.json'), path.join(outDir, `bench-${stamp}.json`));
    const svg = renderChart(results, {
      title: `WAOOAW bench ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} - ${options.agents} agents`,
      targetPerS: 200,
    });
    writeFileSync(path.join(outDir, 'latest.svg'), svg);
    copyFileSync(path.join(outDir, 'latest.svg'), path.join(outDir, `bench-${stamp}.svg`));

    log('');
    log(resultsTable(results));
    log('');
    const liveLine = liveTable(results);
    if (liveLine) {
      log(liveLine);
      log('');
    }
    log(processTable(results));
    log('');
    const costs = costTable(results);
    if (costs) {
      log(costs);
      log('');
    }
    if (report.tracing)
      log(
        `tracing on: ${report.tracing.spansReceived} spans exported, ${report.tracing.spansPerFinishedTask ?? '-'} per finished task\n`,
      );
    const pairs = baselines.flatMap((baseline) => {
      const waooaw = results.find((r) => r.name === baseline.name);
      return waooaw ? [{ waooaw, baseline }] : [];
    });
    if (pairs.length > 0) {
      log('WAOOAW against a plain queue (BullMQ), and the ratios WAOOAW / BullMQ:');
      log(baselineTable(pairs));
      log('');
    }
    const memory = memoryTable(results);
    if (memory) {
      log('resident memory, median MB per tenth of each long scenario, and its trend after the half:');
      log(memory);
      log('');
    }
    if (kafkaCeiling)
      log(
        `raw kafkajs ceiling: ${kafkaCeiling.msgsPerS} msgs/s of ${kafkaCeiling.messageBytes} bytes; steady / ceiling = ${report.ratioToCeiling ?? '-'}`,
      );
    log(
      `results: ${path.relative(process.cwd(), path.join(outDir, 'latest.json'))}, chart: ${path.relative(process.cwd(), path.join(outDir, 'latest.svg'))}`,
    );
    const bad = results.filter((r) => !r.skipped && (r.lost > 0 || r.duplicates > 0));
    if (bad.length)
      log(`[bench] attention: lost or duplicated tasks in ${bad.map((r) => r.name).join(', ')}`);
    return 0;
  } finally {
    await stopAll();
  }
}

runCli('bench', USAGE, () => parseBenchArgs(argv, process.env), main);
