/**
 * A plain-queue baseline for the load bench (issue 20): the same fleet, tiers, handler times and
 * pacing as the WAOOAW scenarios, on BullMQ and a Redis the bench can reach, measured the same way.
 *
 * Set up as a user would: one queue per tier, a worker process with one Worker per queue whose
 * concurrency is the tier's capacity, the load generator adding jobs and following their
 * completions through QueueEvents. Latency is the `completed` event seen minus the moment before
 * add() was called; overhead is that minus the handler time the processor returned.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { LoadProfile } from '../pacing';
import type { WatchedProcess } from '../proc';
import { createProcessSampler, readProcess, ticksPerSecond } from '../proc';
import type { ProcessFigure } from '../report';
import { share } from '../report';
import { taskSpec } from '../scenarios/load';
import type { LatencySummary } from '../stats';
import { round, summarize } from '../stats';
import type {
  BaselineJobData,
  BaselineJobResult,
  ParentMessage,
  WorkerConfig,
  WorkerMessage,
} from './bullmq-worker';
import { baselineTiers, handlerCeilingPerS, tierPicker, tierShares } from './plan';
import {
  defaultRedisUrl,
  describeRedis,
  findRedisProcess,
  redactRedisUrl,
  redisAnswers,
  removeKeys,
} from './redis';

export type BaselineScenario = 'steady' | 'max';

export interface BaselineOptions {
  /** Default: defaultRedisUrl() (REDIS_URL, else the local Redis). */
  redisUrl?: string;
  /** Agent instances, split into the bench's tiers as planBenchFleet splits them (default 120). */
  agents?: number;
  /** steady: the offered load (constantRate), as the WAOOAW scenario paces it. Required for steady. */
  profile?: LoadProfile;
  /** max: at most this many jobs in flight (default 1000), each new one added as soon as one ends. */
  window?: number;
  /** max: how long jobs are offered, ms (default: profile's duration, else 60 s). */
  durationMs?: number;
  /**
   * Share of the tasks per tier (PREMIUM, STANDARD, BUDGET; other keys are ignored), e.g. the
   * tierShare the WAOOAW run measured, so both runs do the same mix. A queue per tier means the
   * producer picks the tier, where WAOOAW's balancer does; default: weight x instances, the share
   * WAOOAW's weighted balancing aims at.
   */
  tierShare?: Record<string, number>;
  /**
   * Tasks each instance runs at once. Default: each instance's own (its manifest's
   * runtime.concurrency, as the bench's runtimes run them), so the queues get the fleet's capacity.
   */
  concurrencyPerInstance?: number;
  /** How long to wait for the last completions after the offered phase, ms (default 60 s). */
  drainMs?: number;
  /** Names the run's Redis keys (`waooaw-baseline-<runId>-<scenario>`); default: a fresh id. */
  runId?: string;
  log?: (line: string) => void;
}

/** One baseline run, with the fields (and meaning) of a WAOOAW ScenarioResult of the same name. */
export interface BaselineResult {
  name: BaselineScenario;
  system: 'bullmq';
  agents: number;
  offeredPerS: number | null;
  /** Completed over first submission to last completion, as the WAOOAW figure. */
  tasksPerS: number | null;
  tasksPerMin: number | null;
  latencyMs: { avg: number | null; p50: number | null; p95: number | null; p99: number | null };
  /** Latency minus the handler time the processor returned. */
  overheadMs: { p50: number | null; p95: number | null; p99: number | null };
  handlerMs: { avg: number | null; p50: number | null; p95: number | null };
  /** completed / accepted (null when nothing was accepted). */
  successRate: number | null;
  submitted: number;
  completed: number;
  failed: number;
  /** add() rejected: never in the queue, so not lost. */
  refused: number;
  /** Jobs BullMQ ran more than once before they completed (a retry, or a stalled job moved back). */
  retried: number;
  /** Added, but no completion or failure after the drain. */
  lost: number;
  /** Completed twice: two `completed` events, or the processor ran it twice. */
  duplicates: number;
  /** Completed tasks per tier, as fractions of all completed. */
  tierShare: Record<string, number>;
  /** Offered phase, s. */
  durationS: number;
  /**
   * CPU of the queue's processes (Redis and the worker process, not the load generator) per
   * completed task, ms; null when Redis's process is not visible here (details.cpuNote says why).
   */
  cpuMsPerTask: number | null;
  processes: ProcessFigure[];
  details: Record<string, unknown>;
  /** Why the baseline did not run (no Redis answered). */
  skipped?: string;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const WORKER_ENTRY = path.join(__dirname, 'bullmq-worker.ts');

/** A job the generator added, from the moment before add() to its completion event. */
interface Tracked {
  tier: number;
  /** performance.now() and Date.now() just before add() was called. */
  at: number;
  wallAt: number;
  refused: boolean;
  /** `completed` events seen for it (more than one is a duplicate). */
  completions: number;
  failed: boolean;
  /** When the first completed or failed event was seen (performance.now). */
  finalAt: number | null;
  result: BaselineJobResult | null;
}

type Stats = Extract<WorkerMessage, { type: 'stats' }>;

/** The next `type` message of the worker process; rejects when it reports an error, exits or is silent. */
function workerMessage<T extends WorkerMessage['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
  output: () => string,
): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (raw: unknown) => {
      // The worker is ours and sends only WorkerMessage values over the IPC channel.
      const m = raw as WorkerMessage;
      if (m.type === type) {
        done();
        resolve(m as Extract<WorkerMessage, { type: T }>);
      } else if (m.type === 'error') {
        done();
        reject(new Error(`the BullMQ worker process failed: ${m.message}`));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`the BullMQ worker process exited (${signal ?? code}) ${output()}`.trim()));
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new Error(`the BullMQ worker process sent no "${type}" within ${timeoutMs} ms ${output()}`.trim()),
      );
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

const figures = (s: LatencySummary) => ({ p50: round(s.p50), p95: round(s.p95), p99: round(s.p99) });

/** A baseline that could not run, with the reason (the same fields, empty). */
export function skippedBaseline(name: BaselineScenario, agents: number, reason: string): BaselineResult {
  return {
    name,
    system: 'bullmq',
    agents,
    offeredPerS: null,
    tasksPerS: null,
    tasksPerMin: null,
    latencyMs: { avg: null, p50: null, p95: null, p99: null },
    overheadMs: { p50: null, p95: null, p99: null },
    handlerMs: { avg: null, p50: null, p95: null },
    successRate: null,
    submitted: 0,
    completed: 0,
    failed: 0,
    refused: 0,
    retried: 0,
    lost: 0,
    duplicates: 0,
    tierShare: {},
    durationS: 0,
    cpuMsPerTask: null,
    processes: [],
    details: {},
    skipped: reason,
  };
}

const MAX_BATCH = 500;

/**
 * Runs one scenario on BullMQ: `steady` offers `profile` as the WAOOAW scenario does; `max` keeps
 * `window` jobs in flight for `durationMs`. Returns a skipped result when Redis does not answer;
 * throws when the run itself fails (after removing its queues). The queues, the worker process and
 * every key of the run are gone when it returns, whichever way it ends.
 */
export async function runBullmqBaseline(
  name: BaselineScenario,
  options: BaselineOptions = {},
): Promise<BaselineResult> {
  const redisUrl = options.redisUrl ?? defaultRedisUrl();
  const agents = options.agents ?? 120;
  const log = options.log ?? (() => undefined);
  const unavailable = await redisAnswers(redisUrl);
  if (unavailable) return skippedBaseline(name, agents, unavailable);
  if (name === 'steady' && !options.profile) throw new Error('the steady baseline needs a profile');
  const window = Math.max(1, Math.floor(options.window ?? 1000));
  const durationMs = options.durationMs ?? options.profile?.durationMs ?? 60_000;
  const drainMs = options.drainMs ?? 60_000;

  const tiers = baselineTiers(agents, options.concurrencyPerInstance);
  if (tiers.length === 0) throw new Error(`a fleet of ${agents} agents has no tier with capacity`);
  const shares = tierShares(tiers, options.tierShare);
  const pick = tierPicker(shares);
  const runId = options.runId ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const prefix = `waooaw-baseline-${runId}-${name}`;
  const connection = { url: redisUrl };
  const redis = await describeRedis(redisUrl);
  const redisProcess = findRedisProcess(redisUrl);

  const queues: Queue<BaselineJobData, BaselineJobResult>[] = [];
  const events: QueueEvents[] = [];
  const clientErrors: string[] = [];
  const onClientError = (what: string) => (err: Error) => {
    if (clientErrors.length < 20) clientErrors.push(`${what}: ${err.message}`);
  };
  let child: ChildProcess | undefined;
  let output = '';
  const cleanup: Record<string, unknown> = {};

  const tracked = new Map<string, Tracked>();
  let open = 0;
  let maxInFlight = 0;
  let sent = 0;
  let lastFinalAt = -Infinity;
  let firstAt = Infinity;
  // Set from the child's exit listener: a holder, so the loops below see the change.
  const worker: { gone: Error | null } = { gone: null };
  let wake: (() => void)[] = [];
  const notify = () => {
    const waiting = wake;
    wake = [];
    for (const w of waiting) w();
  };
  /** Resolves at the next completion, failure or refusal, or after `ms`. */
  const nextEvent = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const settle = (t: Tracked, at: number) => {
    if (t.finalAt !== null) return;
    t.finalAt = at;
    lastFinalAt = Math.max(lastFinalAt, at);
    if (!t.refused) open--;
    notify();
  };

  let measured: BaselineResult;
  try {
    for (const t of tiers) {
      const queue = new Queue<BaselineJobData, BaselineJobResult>(t.tier, {
        connection,
        prefix,
        defaultJobOptions: {
          // A high-throughput queue keeps no completed jobs: Redis's memory stays flat, and the
          // completed event still carries the result. Failed ones stay (a few) to be looked at.
          removeOnComplete: true,
          removeOnFail: 1000,
        },
        // The completion events live in a capped stream (10,000 by default, about 2,000 jobs of
        // events): a reader that falls behind under `max` must not lose completions to the cap.
        streams: { events: { maxLen: 200_000 } },
      });
      queue.on('error', onClientError(`queue ${t.tier}`));
      queues.push(queue);
      const qe = new QueueEvents<BaselineJobResult>(t.tier, {
        connection,
        prefix,
        // The run's stream is new: read it from its start, so that no completion can slip in
        // between connecting and the first blocking read (which '$', the default, would miss).
        lastEventId: '0-0',
      });
      qe.on('error', onClientError(`events ${t.tier}`));
      qe.on('completed', ({ jobId, returnvalue }) => {
        const at = performance.now();
        const job = tracked.get(jobId);
        if (!job) return;
        job.completions++;
        job.result ??= returnvalue;
        settle(job, at);
      });
      qe.on('failed', ({ jobId }) => {
        const job = tracked.get(jobId);
        if (!job || job.completions > 0) return;
        job.failed = true;
        settle(job, performance.now());
      });
      events.push(qe);
    }
    // getVersion() waits until each queue's meta (with the events cap) is written.
    const [version] = await Promise.all(queues.map((q) => q.getVersion()));
    await Promise.all(events.map((e) => e.waitUntilReady()));

    const config: WorkerConfig = {
      redisUrl,
      prefix,
      tiers: tiers.map((t) => ({ queue: t.tier, concurrency: t.concurrency, workMs: t.workMs })),
    };
    const spawned = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY, JSON.stringify(config)], {
      cwd: REPO_ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child = spawned;
    // A failed spawn or send is an 'error' event, which would throw if nobody listened: keep it
    // for the messages of the exit or timeout that follows it.
    spawned.on('error', (err) => {
      output = `${output}\n${err.message}`.slice(-2000);
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2000);
    };
    spawned.stdout?.on('data', keep);
    spawned.stderr?.on('data', keep);
    await workerMessage(spawned, 'ready', 60_000, () => output);
    const onGone = (code: number | null, signal: string | null) => {
      worker.gone = new Error(
        `the BullMQ worker process exited mid-run (${signal ?? code}) ${output}`.trim(),
      );
      notify();
    };
    spawned.once('exit', onGone);
    const workerPid = spawned.pid!;
    log(
      `[bench] bullmq ${name}: ${tiers.map((t) => `${t.tier} x${t.concurrency}`).join(', ')} on ${redactRedisUrl(redisUrl)}`,
    );

    const watched: WatchedProcess[] = [{ name: 'bullmq-worker', pid: workerPid }];
    if (redisProcess.pid !== null) watched.push({ name: 'redis-server', pid: redisProcess.pid });
    const ticksAtStart = new Map(watched.map((w) => [w.pid, readProcess(w.pid)?.ticks ?? null]));
    const generatorCpuStart = process.cpuUsage();
    const sampler = createProcessSampler();
    sampler.start(watched);

    const adds = new Set<Promise<void>>();
    let addError: string | null = null;
    const submit = (count: number) => {
      const batches: { name: string; data: BaselineJobData; opts: { jobId: string } }[][] = tiers.map(
        () => [],
      );
      const entries: Tracked[] = [];
      const at = performance.now();
      const wallAt = Date.now();
      firstAt = Math.min(firstAt, at);
      for (let k = 0; k < count; k++) {
        const i = sent + k;
        const tier = pick();
        // Custom ids: the generator knows a job before add() returns, and a completion can come first.
        const jobId = `t${i}`;
        const entry: Tracked = {
          tier,
          at,
          wallAt,
          refused: false,
          completions: 0,
          failed: false,
          finalAt: null,
          result: null,
        };
        tracked.set(jobId, entry);
        entries.push(entry);
        batches[tier]!.push({ name: 'task', data: { i, input: taskSpec(i) }, opts: { jobId } });
      }
      sent += count;
      open += count;
      maxInFlight = Math.max(maxInFlight, open);
      batches.forEach((jobs, t) => {
        if (jobs.length === 0) return;
        const p = queues[t]!.addBulk(jobs)
          .then(
            () => undefined,
            (err: unknown) => {
              addError ??= err instanceof Error ? err.message : String(err);
              for (const job of jobs) {
                const entry = tracked.get(job.opts.jobId)!;
                if (entry.finalAt !== null) continue;
                entry.refused = true;
                open--;
              }
              notify();
            },
          )
          .finally(() => adds.delete(p));
        adds.add(p);
      });
      return entries;
    };

    const start = performance.now();
    if (name === 'steady') {
      const profile = options.profile!;
      while (sent < profile.total) {
        if (worker.gone) throw worker.gone;
        const due = profile.dueAt(performance.now() - start);
        // The pacer's tick, as runLoad's: what is due goes out, then it looks again in 2 ms.
        if (due > sent) submit(Math.min(due - sent, MAX_BATCH));
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } else {
      while (performance.now() - start < durationMs) {
        if (worker.gone) throw worker.gone;
        const room = window - open;
        if (room > 0) {
          submit(Math.min(room, MAX_BATCH));
          // Let the adds go out before topping up again.
          await new Promise((resolve) => setImmediate(resolve));
        } else {
          await nextEvent(durationMs - (performance.now() - start));
        }
      }
    }
    const offeredS = (performance.now() - start) / 1000;
    await Promise.allSettled([...adds]);

    const drainStart = performance.now();
    while (open > 0 && performance.now() - drainStart < drainMs) {
      if (worker.gone) throw worker.gone;
      await nextEvent(drainMs - (performance.now() - drainStart));
    }
    const pendingAfterDrain = open;

    const processes = sampler.stop();
    const hz = ticksPerSecond();
    const cpuMs: Record<string, number | null> = {};
    for (const w of watched) {
      const before = ticksAtStart.get(w.pid);
      const after = readProcess(w.pid)?.ticks;
      cpuMs[w.name] = before != null && after != null ? ((after - before) / hz) * 1000 : null;
    }
    if (redisProcess.pid === null) cpuMs['redis-server'] = null;
    const generatorCpu = process.cpuUsage(generatorCpuStart);

    // Stop the worker before reading its counts: a job it ran twice shows in them.
    spawned.off('exit', onGone);
    const stopped = workerMessage(spawned, 'stats', 30_000, () => output);
    spawned.send({ type: 'stop' } satisfies ParentMessage);
    const stats: Stats = await stopped;
    await exited(spawned);
    const ranTwice = new Set(stats.ranTwice);

    const latency: number[] = [];
    const overhead: number[] = [];
    const handler: number[] = [];
    const queued: number[] = [];
    const reported: number[] = [];
    const byTier = new Map<string, number>();
    let overheadMin = Infinity;
    let submitted = 0;
    let refused = 0;
    let completed = 0;
    let failed = 0;
    let lost = 0;
    let duplicates = 0;
    let retried = 0;
    for (const [id, t] of tracked) {
      submitted++;
      if (t.refused) {
        refused++;
        continue;
      }
      if (t.completions > 1 || ranTwice.has(id)) duplicates++;
      if (t.finalAt === null) {
        lost++;
        continue;
      }
      if (t.completions === 0) {
        failed++;
        continue;
      }
      completed++;
      const r = t.result!;
      const e2e = t.finalAt - t.at;
      latency.push(e2e);
      handler.push(r.ms);
      overhead.push(Math.max(0, e2e - r.ms));
      overheadMin = Math.min(overheadMin, e2e - r.ms);
      if (r.attempt > 1) retried++;
      // Across processes only the wall clock is shared (ms resolution): where the rest of the time went.
      queued.push(r.startedAt - t.wallAt);
      reported.push(t.wallAt + e2e - r.finishedAt);
      const tier = tiers[t.tier]!.tier;
      byTier.set(tier, (byTier.get(tier) ?? 0) + 1);
    }
    const lat = summarize(latency);
    const hand = summarize(handler);
    const spanMs = Number.isFinite(firstAt) && Number.isFinite(lastFinalAt) ? lastFinalAt - firstAt : 0;
    const tasksPerS = spanMs > 0 ? completed / (spanMs / 1000) : null;
    const queueCpuMs =
      cpuMs['redis-server'] != null && cpuMs['bullmq-worker'] != null
        ? cpuMs['redis-server'] + cpuMs['bullmq-worker']
        : null;
    const tierShare: Record<string, number> = {};
    for (const [tier, n] of [...byTier].sort()) tierShare[tier] = share(n, completed);
    const ceiling = handlerCeilingPerS(tiers, shares);

    measured = {
      name,
      system: 'bullmq',
      agents,
      offeredPerS:
        name === 'steady' && options.profile!.durationMs > 0
          ? round(options.profile!.total / (options.profile!.durationMs / 1000))
          : null,
      tasksPerS: tasksPerS === null ? null : round(tasksPerS),
      tasksPerMin: tasksPerS === null ? null : Math.round(tasksPerS * 60),
      latencyMs: { avg: round(lat.avg), ...figures(lat) },
      overheadMs: figures(summarize(overhead)),
      handlerMs: { avg: round(hand.avg), p50: round(hand.p50), p95: round(hand.p95) },
      successRate: submitted - refused > 0 ? share(completed, submitted - refused) : null,
      submitted,
      completed,
      failed,
      refused,
      retried,
      lost,
      duplicates,
      tierShare,
      durationS: round(offeredS) ?? offeredS,
      // Two decimals: a queue's cost per task is a fraction of a millisecond.
      cpuMsPerTask:
        queueCpuMs !== null && completed > 0 ? Math.round((queueCpuMs / completed) * 100) / 100 : null,
      processes,
      details: {
        bullmq: version,
        redis: { url: redactRedisUrl(redisUrl), ...redis },
        persistence:
          'Redis keeps what this server is configured to keep (see redis.appendonly and redis.save); the bench ' +
          "does not change a shared server's config. The issue's own BullMQ measurement used AOF everysec.",
        prefix,
        ...(name === 'max' ? { window, maxInFlight } : { maxInFlight }),
        tiers: tiers.map((t, i) => ({
          tier: t.tier,
          instances: t.instances,
          concurrency: t.concurrency,
          workMs: `${t.workMs.min}-${t.workMs.max}`,
          offeredShare: Math.round(shares[i]! * 10_000) / 10_000,
        })),
        handlerCeilingPerS: Number.isFinite(ceiling) ? Math.round(ceiling) : null,
        handler: "a timer of the tier's handler time (WAOOAW runs the skill, then pads to it)",
        stagesMs: {
          queued: figures(summarize(queued)),
          reported: figures(summarize(reported)),
        },
        overheadMinMs: Number.isFinite(overheadMin) ? Math.round(overheadMin * 100) / 100 : null,
        pendingAfterDrain,
        cpuMs: {
          ...Object.fromEntries(
            Object.entries(cpuMs).map(([k, v]) => [k, v === null ? null : Math.round(v)]),
          ),
          loadGenerator: Math.round((generatorCpu.user + generatorCpu.system) / 1000),
        },
        cpuNote:
          redisProcess.note ??
          'redis-server and bullmq-worker; the load generator (QueueEvents and add() in the bench process) is not counted. ' +
            'A shared Redis also serves its other clients in the window.',
        worker: { runs: stats.runs, jobs: stats.jobs, ranTwice: stats.ranTwice.length, errors: stats.errors },
        ...(addError ? { addError } : {}),
        ...(clientErrors.length > 0 ? { clientErrors } : {}),
      },
    };
    log(
      `[bench] bullmq ${name}: ${completed}/${submitted} completed, ${measured.tasksPerS ?? '-'} tasks/s, ` +
        `p95 ${measured.latencyMs.p95 ?? '-'} ms, overhead p95 ${measured.overheadMs.p95 ?? '-'} ms`,
    );
  } finally {
    // Whichever way the run ended: no worker, no queue, no key of the run is left behind.
    if (child && child.exitCode === null && child.signalCode === null) {
      const running = child;
      let stopped = false;
      if (running.connected) {
        const reply = workerMessage(running, 'stats', 15_000, () => output).then(
          () => true,
          () => false,
        );
        running.send({ type: 'stop' } satisfies ParentMessage);
        stopped = await reply;
      }
      if (!stopped) running.kill('SIGKILL');
      await exited(running);
    }
    for (const q of queues) {
      try {
        await q.obliterate({ force: true });
      } catch (err) {
        cleanup.obliterateError = err instanceof Error ? err.message : String(err);
      }
    }
    await Promise.allSettled([...events.map((e) => e.close()), ...queues.map((q) => q.close())]);
    try {
      cleanup.keysRemovedAfterObliterate = await removeKeys(redisUrl, prefix);
    } catch (err) {
      cleanup.keysError = err instanceof Error ? err.message : String(err);
    }
    if (cleanup.obliterateError || cleanup.keysError)
      log(`[bench] bullmq ${name}: cleanup of ${prefix}: ${JSON.stringify(cleanup)}`);
  }
  return { ...measured, details: { ...measured.details, cleanup } };
}
