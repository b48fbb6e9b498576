import { mulberry32 } from '@waooaw/shared';
import type { ExampleEnv, ExampleInstance, Tier } from './common';
import { exampleManifest, jsonOutput, readJson, startExampleRuntime, until, waitRoutable } from './common';

/** Points of [0,1)^2 inside the quarter circle, drawn from a seeded PRNG (so a task is reproducible). */
export function samplePi(seed: number, samples: number): number {
  const next = mulberry32(seed);
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    const x = next();
    const y = next();
    if (x * x + y * y < 1) inside++;
  }
  return inside;
}

/**
 * The compute cluster: premium machines are few, fast, large (8 tasks at once) and weighted 10;
 * budget ones slow, small (1 at a time) and weighted 0.3. A premium instance needs the room for its
 * weight: with 2 slots each, the two premium instances filled at 50 tasks/s (a slot is held for the
 * Kafka and database round trips too, not only the sampling) and work overflowed to the other tiers,
 * so the shares followed capacity rather than the weights.
 */
export const CLUSTER: {
  tier: Tier;
  instances: number;
  weight: number;
  concurrency: number;
  workMs: { min: number; max: number };
}[] = [
  { tier: 'PREMIUM', instances: 2, weight: 10, concurrency: 8, workMs: { min: 5, max: 15 } },
  { tier: 'STANDARD', instances: 4, weight: 1, concurrency: 2, workMs: { min: 20, max: 40 } },
  { tier: 'BUDGET', instances: 3, weight: 0.3, concurrency: 1, workMs: { min: 50, max: 100 } },
];

export interface TierShare {
  tier: Tier;
  instances: number;
  weight: number;
  /** The share smooth weighted round robin gives the tier when no instance is full. */
  expectedShare: number;
  share: number;
  tasks: number;
}

export interface MonteCarloResult {
  tasks: number;
  samples: number;
  estimate: number;
  error: number;
  seconds: number;
  tiers: TierShare[];
}

/** Expected share per tier: its instances' weights over the cluster's. */
export function weightShares(cluster: typeof CLUSTER): number[] {
  const total = cluster.reduce((n, c) => n + c.instances * c.weight, 0);
  return cluster.map((c) => (c.instances * c.weight) / total);
}

/**
 * A distributed pi estimate: `tasks` sampling tasks over a premium/standard/budget cluster with
 * WEIGHTED balancing, submitted over Kafka at a pace the cluster keeps up with (so the weights, not
 * full instances, decide who runs what). Prints the estimate, its error and each tier's share.
 */
export async function runMonteCarlo(
  env: ExampleEnv,
  options: { tasks?: number; samplesPerTask?: number; ratePerS?: number } = {},
): Promise<MonteCarloResult> {
  const tasks = options.tasks ?? 300;
  const samplesPerTask = options.samplesPerTask ?? 100_000;
  const rate = options.ratePerS ?? 50;
  const manifest = exampleManifest({
    handle: 'example-pi-worker',
    name: 'Pi sampler',
    description: 'Monte Carlo sampling of pi',
    capabilities: [
      { name: 'compute.pi-sample', description: 'Counts random points inside the unit quarter circle' },
    ],
    concurrency: 2,
  });
  const handlers = {
    'compute.pi-sample': async (input: unknown) => {
      const { seed, samples } = input as { seed: number; samples: number };
      const inside = samplePi(seed, samples);
      return jsonOutput('pi sample', { inside, samples }, `${inside}/${samples} inside`);
    },
  };
  const instances: ExampleInstance[] = CLUSTER.flatMap((c) =>
    Array.from({ length: c.instances }, () => ({
      manifest,
      handlers,
      tier: c.tier,
      weight: c.weight,
      concurrency: c.concurrency,
      workMs: c.workMs,
    })),
  );
  const runtimeId = `${env.runId}-pi`;
  const runtime = await startExampleRuntime(env, runtimeId, instances);
  const finals = new Map<
    string,
    { status: string; instanceId: string | null; output: { content: string } | null }
  >();
  const ids = Array.from({ length: tasks }, (_, i) => `${env.runId}-pi-${i}`);
  const mine = new Set(ids);
  const stop = env.kafka.listen({
    onTaskUpdated: (_id, u) => {
      if (
        mine.has(u.taskId) &&
        ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELED'].includes(u.status) &&
        !finals.has(u.taskId)
      )
        finals.set(u.taskId, { status: u.status, instanceId: u.instanceId, output: u.output ?? null });
    },
  });
  try {
    await waitRoutable(env, [runtimeId], instances.length, {
      capability: 'compute.pi-sample',
      input: { seed: 1, samples: 1 },
    });
    env.log(
      `[monte-carlo] ${instances.length} instances (${CLUSTER.map((c) => `${c.instances} ${c.tier} w${c.weight}`).join(', ')}); ${tasks} tasks x ${samplesPerTask} samples at ${rate}/s`,
    );
    const started = performance.now();
    for (let i = 0; i < tasks; i++) {
      const due = started + (i / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await env.kafka.submit([
        {
          taskId: ids[i]!,
          spec: {
            capability: 'compute.pi-sample',
            input: { seed: 7919 * (i + 1), samples: samplesPerTask },
            strategy: 'WEIGHTED',
            timeoutMs: 10_000,
          },
        },
      ]);
    }
    await until(() => finals.size >= tasks, 120_000, 'every sampling task to finish');
    const seconds = (performance.now() - started) / 1000;
    let inside = 0;
    let samples = 0;
    const perTier = new Map<string, number>();
    for (const f of finals.values()) {
      if (f.status !== 'COMPLETED') continue;
      const part = readJson<{ inside: number; samples: number }>(f.output);
      inside += part.inside;
      samples += part.samples;
      const tier = (f.instanceId && runtime.tierOf.get(f.instanceId)) ?? 'other';
      perTier.set(tier, (perTier.get(tier) ?? 0) + 1);
    }
    const completed = [...perTier.values()].reduce((a, b) => a + b, 0);
    const expected = weightShares(CLUSTER);
    const estimate = (4 * inside) / samples;
    const result: MonteCarloResult = {
      tasks,
      samples,
      estimate,
      error: Math.abs(estimate - Math.PI),
      seconds,
      tiers: CLUSTER.map((c, i) => ({
        tier: c.tier,
        instances: c.instances,
        weight: c.weight,
        expectedShare: expected[i]!,
        tasks: perTier.get(c.tier) ?? 0,
        share: completed ? (perTier.get(c.tier) ?? 0) / completed : 0,
      })),
    };
    env.log(
      `[monte-carlo] pi ~ ${estimate.toFixed(6)} from ${samples.toLocaleString('en-IN')} samples (error ${result.error.toExponential(2)}, ${((result.error / Math.PI) * 100).toFixed(4)}%) in ${seconds.toFixed(1)} s`,
    );
    for (const t of result.tiers)
      env.log(
        `[monte-carlo]   ${t.tier.padEnd(8)} ${t.instances} x weight ${String(t.weight).padEnd(3)} ran ${String(t.tasks).padStart(4)} tasks = ${(t.share * 100).toFixed(1).padStart(5)}% (weight share ${(t.expectedShare * 100).toFixed(1)}%)`,
      );
    return result;
  } finally {
    stop();
    await runtime.stop();
  }
}
