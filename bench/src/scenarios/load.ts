import { METRICS_PORT_OFFSET } from '@waooaw/infra';
import { TRIAL_FIRST_DELIVERABLE } from '@waooaw/shared';
import type { BenchContext } from '../context';
import type { MetricsTarget, TaskCosts } from '../costs';
import { readCostCounters, taskCosts } from '../costs';
import type { LoadProfile } from '../pacing';
import type { ProcessFigure } from '../report';
import { createProcessSampler } from '../proc';
import type { Measurement } from '../tracker';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const INDUSTRIES = ['retail', 'education', 'healthcare', 'real estate', 'hospitality', 'fintech'];
const CITIES = ['Pune', 'Bengaluru', 'Chennai', 'Jaipur', 'Kochi', 'Indore'];

/** What every bench task asks: a trial's first deliverable, which all 19 customer agents offer. */
export function taskSpec(i: number): Record<string, unknown> {
  return {
    capability: TRIAL_FIRST_DELIVERABLE,
    input: {
      businessContext: {
        businessName: `Bench customer ${i % 997}`,
        industry: INDUSTRIES[i % INDUSTRIES.length],
        city: CITIES[i % CITIES.length],
        goals: ['more qualified leads'],
      },
    },
    // The longest handler takes 150 ms: an attempt silent for 5 s is gone, so retry it elsewhere.
    timeoutMs: 5000,
    retryPolicy: { maxAttempts: 4, initialDelayMs: 50, maxDelayMs: 1000, jitter: 'FULL' },
  };
}

/** True for the tasks that go through the gateway: an even spread of `share` of them. */
export const viaGraphql = (i: number, share: number) => Math.floor((i + 1) * share) > Math.floor(i * share);

const SUBMIT_MUTATION = `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`;

export interface LoadRun {
  measurement: Measurement;
  processes: ProcessFigure[];
  /** Offered phase length, s. */
  offeredS: number;
  /** Tasks still without a final status when the drain gave up. */
  pendingAfterDrain: number;
  /** What a completed task cost the platform (null when the run was not sampled, e.g. the warm-up). */
  costs: TaskCosts | null;
}

/** Every platform process that counts its Kafka requests: the services and the bench's runtimes. */
export const metricsTargets = (ctx: BenchContext): MetricsTarget[] => [
  ...ctx.platform.services.map((s) => ({ name: s.name, metricsPort: s.port + METRICS_PORT_OFFSET })),
  ...ctx.fleet.map((f) => ({ name: `runtime ${f.plan.runtimeId}`, metricsPort: f.metricsPort })),
];

/**
 * Offers `profile` to the platform (Kafka commands, and a share through the gateway's mutation),
 * then waits until every accepted task has a final status or the drain time is up. `at` runs hooks
 * at moments of the offered phase (the failures scenario breaks runtimes with them).
 */
export async function runLoad(
  ctx: BenchContext,
  name: string,
  profile: LoadProfile,
  options: {
    step?: number;
    drainMs?: number;
    hooks?: { atMs: number; run: () => Promise<void> | void }[];
    label?: string;
    sample?: boolean;
    firstIndex?: number;
    /** The customer a task submitted over Kafka works for (null: none, the default). */
    customerOf?: (i: number) => string | null;
  } = {},
): Promise<LoadRun> {
  const { tracker, kafka, operator, progress } = ctx;
  const share = ctx.options.graphqlShare;
  const sampler = createProcessSampler();
  const sampled = options.sample !== false;
  const countersBefore = sampled ? await readCostCounters(metricsTargets(ctx), ctx.platform.mongoUrl) : null;
  if (sampled) sampler.start(ctx.processes());
  const hooks = [...(options.hooks ?? [])].sort((a, b) => a.atMs - b.atMs);
  const inflight = new Set<Promise<void>>();
  let graphqlActive = 0;
  const graphqlQueue: (() => Promise<void>)[] = [];
  const pumpGraphql = () => {
    while (graphqlActive < 32 && graphqlQueue.length > 0) {
      const job = graphqlQueue.shift()!;
      graphqlActive++;
      const p = job().finally(() => {
        graphqlActive--;
        inflight.delete(p);
        pumpGraphql();
      });
      inflight.add(p);
    }
  };
  const base = options.firstIndex ?? 0;
  const idOf = (i: number) =>
    `bench-${ctx.runId}-${name}${options.step !== undefined ? `-s${options.step}` : ''}-${i}`;
  const label = options.label ?? name;
  const start = performance.now();
  let sent = 0;
  let lastDraw = -Infinity;
  while (sent < profile.total || hooks.length > 0) {
    const t = performance.now() - start;
    while (hooks.length > 0 && hooks[0]!.atMs <= t) await hooks.shift()!.run();
    const due = profile.dueAt(t);
    if (due > sent) {
      const n = Math.min(due - sent, 500);
      const commands: { taskId: string; spec: Record<string, unknown>; customerId: string | null }[] = [];
      for (let k = sent; k < sent + n; k++) {
        const i = base + k;
        const id = idOf(i);
        if (viaGraphql(i, share)) {
          graphqlQueue.push(async () => {
            tracker.submitted(id, name, 'graphql', performance.now(), options.step);
            try {
              const res = await operator<{ submitTask: { id: string } }>(SUBMIT_MUTATION, {
                input: taskSpec(i),
              });
              if (res.data?.submitTask) tracker.accepted(res.data.submitTask.id, id);
              else tracker.refused(id);
            } catch {
              tracker.refused(id);
            }
          });
        } else {
          commands.push({ taskId: id, spec: taskSpec(i), customerId: options.customerOf?.(i) ?? null });
        }
      }
      pumpGraphql();
      if (commands.length > 0) {
        const at = performance.now();
        for (const c of commands) tracker.submitted(c.taskId, name, 'kafka', at, options.step);
        const p = kafka
          .submit(commands)
          .then(
            () => commands.forEach((c) => tracker.accepted(c.taskId)),
            () => commands.forEach((c) => tracker.refused(c.taskId)),
          )
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
      sent += n;
    } else {
      await sleep(2);
    }
    if (performance.now() - start > lastDraw + 200) {
      lastDraw = performance.now() - start;
      progress.update(
        profile.durationMs > 0 ? Math.min(1, t / profile.durationMs) : sent / Math.max(1, profile.total),
        `${label}: submitted ${sent}/${profile.total}, finished ${tracker.finished(name)}`,
      );
    }
  }
  const offeredS = (performance.now() - start) / 1000;
  while (graphqlQueue.length > 0 || inflight.size > 0) {
    pumpGraphql();
    await Promise.race([...inflight, sleep(50)]);
  }
  const drainMs = options.drainMs ?? ctx.options.drainS * 1000;
  const drainStart = performance.now();
  let pending = tracker.pending(name);
  while (pending > 0 && performance.now() - drainStart < drainMs) {
    progress.update(1, `${label}: draining, ${pending} still running`);
    await sleep(100);
    pending = tracker.pending(name);
  }
  progress.done();
  const processes = sampled ? sampler.stop() : [];
  const measurement = tracker.measure(name, (id) => ctx.tierOf(id), options.step);
  const costs = countersBefore
    ? taskCosts(
        countersBefore,
        await readCostCounters(metricsTargets(ctx), ctx.platform.mongoUrl),
        processes,
        measurement.completed,
      )
    : null;
  return { measurement, processes, offeredS, pendingAfterDrain: pending, costs };
}
