import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import path from 'node:path';
import { catalogue, parseTiers, planFleet } from '@waooaw/agents/runtime';
import { METRICS_PORT_OFFSET } from '@waooaw/infra';
import { TRIAL_FIRST_DELIVERABLE } from '@waooaw/shared';
import { REPO_ROOT } from './platform';

/** The seeds' tiers: share of the fleet, load-balancing weight and handler time. */
export const BENCH_TIERS = [
  { tier: 'PREMIUM', share: 0.2, weight: 10, workMs: '10-30' },
  { tier: 'STANDARD', share: 0.5, weight: 1, workMs: '30-70' },
  { tier: 'BUDGET', share: 0.3, weight: 0.3, workMs: '70-150' },
] as const;

/** Splits `total` into integer parts proportional to `shares` (largest remainder). */
export function apportion(total: number, shares: readonly number[]): number[] {
  const sum = shares.reduce((a, b) => a + b, 0);
  const exact = shares.map((s) => (sum > 0 ? (s / sum) * total : 0));
  const counts = exact.map(Math.floor);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < total; k++) counts[order[k % order.length]!.i]! += 1;
  return counts;
}

export type RuntimeRole = 'main' | 'errors' | 'crash';

/** One runtime process of the fleet and how many instances of each tier it hosts. */
export interface RuntimePlan {
  role: RuntimeRole;
  runtimeId: string;
  counts: number[];
  /** The runtime's `--tiers` argument. */
  tiers: string;
  size: number;
}

/**
 * The fleet as three runtimes: 90% in `main`, and the 10% the failures scenario breaks split into
 * `errors` (its instances start failing every attempt) and `crash` (killed with SIGKILL). Every
 * runtime has the fleet's tier mix, so the failing 10% is not all of one tier.
 */
export function planBenchFleet(agents: number): RuntimePlan[] {
  const shares = BENCH_TIERS.map((t) => t.share);
  const total = apportion(agents, shares);
  const flaky = Math.max(2, Math.round(agents * 0.1));
  const errorsCounts = apportion(Math.floor(flaky / 2), shares);
  const crashCounts = apportion(flaky - Math.floor(flaky / 2), shares);
  const mainCounts = total.map((n, i) => n - errorsCounts[i]! - crashCounts[i]!);
  const plan = (role: RuntimeRole, counts: number[]): RuntimePlan => ({
    role,
    runtimeId: `bench-${role}`,
    counts,
    size: counts.reduce((a, b) => a + b, 0),
    tiers: BENCH_TIERS.flatMap((t, i) =>
      counts[i]! > 0 ? [`${t.tier}:${t.weight}:${counts[i]}:${t.workMs}`] : [],
    ).join(','),
  });
  return [plan('main', mainCounts), plan('errors', errorsCounts), plan('crash', crashCounts)];
}

/** The customer agents: every one offers the trial's first deliverable, so all 120 instances share one pool. */
export function benchHandles(): string[] {
  return catalogue
    .filter((e) => e.manifest.capabilities.some((c) => c.name === TRIAL_FIRST_DELIVERABLE))
    .map((e) => e.manifest.handle)
    .sort();
}

/** instance id -> tier for every instance of the plan (planFleet is deterministic, as the runtimes run it). */
export function tierMap(plans: readonly RuntimePlan[], handles: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const p of plans) {
    if (p.size === 0) continue;
    for (const spec of planFleet(catalogue, {
      runtimeId: p.runtimeId,
      size: p.size,
      tiers: parseTiers(p.tiers),
      handles,
    }))
      map.set(spec.instanceId, spec.tier);
  }
  return map;
}

const RUNTIME_MAIN = path.join(REPO_ROOT, 'agents/dist/src/runtime/main.js');

/** A fleet runtime as its own process (the built one `npm start` runs), which the bench may break. */
export function fleetProcess(
  plan: RuntimePlan,
  options: {
    brokers: string[];
    /** The platform's WAOOAW_NAMESPACE. */
    namespace: string;
    port: number;
    handles: readonly string[];
    env: NodeJS.ProcessEnv;
    log: WriteStream;
  },
) {
  let child: ChildProcess | undefined;
  const exited = () =>
    new Promise<void>((resolve) =>
      !child || child.exitCode !== null || child.signalCode !== null
        ? resolve()
        : child.once('exit', () => resolve()),
    );
  return {
    plan,
    /** Where its /metrics answers. */
    metricsPort: options.port + METRICS_PORT_OFFSET,
    get pid() {
      return child?.pid;
    },
    async start(): Promise<void> {
      const spawned = spawn(
        process.execPath,
        [
          RUNTIME_MAIN,
          '--fleet',
          String(plan.size),
          '--tiers',
          plan.tiers,
          '--agents',
          options.handles.join(','),
          '--runtime-id',
          plan.runtimeId,
          '--fault-signal',
        ],
        {
          cwd: path.join(REPO_ROOT, 'agents'),
          env: {
            ...options.env,
            KAFKA_BROKERS: options.brokers.join(','),
            WAOOAW_NAMESPACE: options.namespace,
            PORT: String(options.port),
            // As `npm start` gives every process: the bench reads its Kafka requests there.
            METRICS_PORT: String(options.port + METRICS_PORT_OFFSET),
            HOST: '127.0.0.1',
            LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child = spawned;
      spawned.stdout?.on('data', (c: Buffer) => options.log.write(c));
      spawned.stderr?.on('data', (c: Buffer) => options.log.write(c));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (spawned.exitCode !== null)
          throw new Error(`runtime ${plan.runtimeId} exited with ${spawned.exitCode}`);
        const ok = await fetch(`http://127.0.0.1:${options.port}/health/ready`)
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`runtime ${plan.runtimeId} was not ready on port ${options.port} within 60 s`);
    },
    /** Toggles the injected fault (every attempt fails) on or off. */
    toggleErrors() {
      child?.kill('SIGUSR2');
    },
    /** A crash: no deregistration, no goodbye; discovery notices the silence after the TTL. */
    async kill() {
      child?.kill('SIGKILL');
      await exited();
    },
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited();
    },
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
  };
}

export type FleetProcess = ReturnType<typeof fleetProcess>;
