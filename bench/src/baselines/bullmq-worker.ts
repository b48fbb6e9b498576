/**
 * The worker process of the BullMQ baseline (bullmq.ts starts it): one BullMQ Worker per tier
 * queue, each with the tier's concurrency, whose processor does what a bench agent's handler does,
 * wait out the tier's handler time, and returns the time it took. It runs in a process of its own,
 * as a deployment would run its workers, so its CPU is measured apart from the load generator's.
 *
 * The configuration comes as JSON in argv[2]; the process reports `ready` over IPC once every
 * Worker is connected and answers `stop` with its counts, after the Workers have closed.
 */
import { Worker } from 'bullmq';
import type { Job } from 'bullmq';

export interface WorkerTier {
  /** Queue name (the tier, e.g. PREMIUM). */
  queue: string;
  concurrency: number;
  workMs: { min: number; max: number };
}

export interface WorkerConfig {
  redisUrl: string;
  prefix: string;
  tiers: WorkerTier[];
}

/** What a job carries: nothing the handler needs, but a payload of the size a task's input has. */
export interface BaselineJobData {
  i: number;
  input: Record<string, unknown>;
}

/** What the processor returns (the `returnvalue` of the `completed` event). */
export interface BaselineJobResult {
  /** Handler time, ms (the bench's runtimes report the same: padded work, start to end). */
  ms: number;
  /** Wall clock (Date.now) when the processor started and ended: the other processes' clocks are the same machine's. */
  startedAt: number;
  finishedAt: number;
  /** 1 for a first run; more when BullMQ ran the job again (a retry or a stalled job moved back). */
  attempt: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | {
      type: 'stats';
      /** Processor runs, and distinct jobs run. */
      runs: number;
      jobs: number;
      /** Ids of the jobs the processor ran more than once. */
      ranTwice: string[];
      errors: number;
    };

export type ParentMessage = { type: 'stop' };

const send = (message: WorkerMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
  const runs = new Map<string, number>();
  let runCount = 0;
  let errors = 0;
  const workers = config.tiers.map((tier) => {
    const { min, max } = tier.workMs;
    const worker = new Worker<BaselineJobData, BaselineJobResult>(
      tier.queue,
      async (job: Job<BaselineJobData, BaselineJobResult>) => {
        const startedAt = Date.now();
        const t0 = performance.now();
        const id = job.id ?? '';
        runs.set(id, (runs.get(id) ?? 0) + 1);
        runCount++;
        // As the runtime pads a task (agents/src/runtime/runtime.ts): a target uniform in the tier's range.
        await new Promise((resolve) => setTimeout(resolve, min + Math.random() * (max - min)));
        return {
          ms: performance.now() - t0,
          startedAt,
          finishedAt: Date.now(),
          attempt: job.attemptsMade + 1,
        };
      },
      { connection: { url: config.redisUrl }, prefix: config.prefix, concurrency: tier.concurrency },
    );
    // An EventEmitter without an 'error' listener throws: count and report instead.
    worker.on('error', (err) => {
      errors++;
      process.stderr.write(`[bullmq-worker] ${tier.queue}: ${err.message}\n`);
    });
    return worker;
  });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      // close() waits for the active jobs: nothing in flight is cut short.
      await Promise.all(workers.map((w) => w.close()));
      const ranTwice = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
      await send({ type: 'stats', runs: runCount, jobs: runs.size, ranTwice, errors });
      process.exit(0);
    })());
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stop') void stop();
  });
  // The parent went away without a stop (it crashed or was killed): do not linger on the queue.
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());

  await Promise.all(workers.map((w) => w.waitUntilReady()));
  await send({ type: 'ready' });
}

main().catch(async (err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`[bullmq-worker] ${message}\n`);
  await send({ type: 'error', message });
  process.exit(1);
});
