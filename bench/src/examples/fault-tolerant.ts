import type { ExampleEnv, ExampleInstance, ExampleRuntime, Tier } from './common';
import { exampleManifest, jsonOutput, startExampleRuntime, until, waitRoutable } from './common';

/** The three replica groups, each its own runtime (so one can be killed as a whole). */
export const GROUPS: { role: 'primary' | 'secondary' | 'backup'; tier: Tier; weight: number }[] = [
  { role: 'primary', tier: 'PREMIUM', weight: 5 },
  { role: 'secondary', tier: 'STANDARD', weight: 2 },
  { role: 'backup', tier: 'BUDGET', weight: 1 },
];

export interface FaultTolerantResult {
  requests: number;
  succeeded: number;
  failed: number;
  successRate: number;
  /** Requests that needed another attempt (their replica died under them). */
  retried: number;
  /** Circuit breakers of the killed replicas that opened. */
  breakerTrips: number;
  /** Requests served by each group before the kill, while killed, and after the restore. */
  servedBy: Record<'before' | 'killed' | 'restored', Record<string, number>>;
  seconds: number;
}

/** Which phase a request submitted at `i` of `n` belongs to. */
export function phaseOf(i: number, n: number): 'before' | 'killed' | 'restored' {
  return i < n / 4 ? 'before' : i < (3 * n) / 4 ? 'killed' : 'restored';
}

/**
 * Nine replicas of a request-serving agent (3 primary, 3 secondary, 3 backup) answer requests
 * submitted over Kafka; a quarter of the way in the three primaries die (they stop answering and
 * heartbeating, as a hung host would), three quarters in they come back. Timeouts, retries on other
 * replicas, breakers and health route around them; the success rate is what a client saw.
 */
export async function runFaultTolerant(
  env: ExampleEnv,
  options: { requests?: number; ratePerS?: number } = {},
): Promise<FaultTolerantResult> {
  const requests = options.requests ?? 240;
  const rate = options.ratePerS ?? 12;
  const manifest = exampleManifest({
    handle: 'example-ha-service',
    name: 'HA service',
    description: 'A replicated request handler',
    capabilities: [{ name: 'ha.handle-request', description: 'Serves one request' }],
    concurrency: 4,
  });
  const handlers = {
    'ha.handle-request': async (input: unknown) =>
      jsonOutput('served', { request: (input as { n: number }).n }, 'served'),
  };
  const runtimes: { role: string; runtime: ExampleRuntime }[] = [];
  const stops: (() => void)[] = [];
  try {
    for (const g of GROUPS) {
      const instances: ExampleInstance[] = Array.from({ length: 3 }, () => ({
        manifest,
        handlers,
        tier: g.tier,
        weight: g.weight,
        workMs: { min: 5, max: 15 },
      }));
      // Short heartbeats and TTL: a dead replica is noticed within seconds.
      const runtime = await startExampleRuntime(env, `${env.runId}-ha-${g.role}`, instances, {
        heartbeatIntervalMs: 500,
        ttlSeconds: 5,
      });
      runtimes.push({ role: g.role, runtime });
    }
    const roleOf = new Map(runtimes.flatMap((r) => r.runtime.instanceIds.map((id) => [id, r.role] as const)));
    const primary = runtimes.find((r) => r.role === 'primary')!.runtime;
    const primaryIds = new Set(primary.instanceIds);
    await waitRoutable(
      env,
      runtimes.map((r) => r.runtime.runtime.runtimeId),
      9,
      { capability: 'ha.handle-request', input: { n: -1 } },
    );
    env.log(
      `[fault-tolerant] 9 replicas ready (3 primary w5, 3 secondary w2, 3 backup w1); ${requests} requests at ${rate}/s`,
    );

    const ids = Array.from({ length: requests }, (_, i) => `${env.runId}-ha-${i}`);
    const index = new Map(ids.map((id, i) => [id, i]));
    const finals = new Map<string, { status: string; attempts: number; instanceId: string | null }>();
    let trips = 0;
    let killed = false;
    stops.push(
      env.kafka.listen({
        onTaskUpdated: (_id, u) => {
          if (
            index.has(u.taskId) &&
            ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELED'].includes(u.status) &&
            !finals.has(u.taskId)
          )
            finals.set(u.taskId, { status: u.status, attempts: u.attempts, instanceId: u.instanceId });
        },
        onCircuitChanged: (c) => {
          if (c.to === 'OPEN' && primaryIds.has(c.instanceId) && killed) trips++;
        },
      }),
    );
    const started = performance.now();
    for (let i = 0; i < requests; i++) {
      const due = started + (i / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (i === Math.ceil(requests / 4)) {
        primary.runtime.setFault('silent');
        killed = true;
        env.log(`[fault-tolerant] request ${i}: the 3 primary replicas are killed`);
      }
      if (i === Math.ceil((3 * requests) / 4)) {
        primary.runtime.setFault(null);
        env.log(`[fault-tolerant] request ${i}: the 3 primary replicas are restored`);
      }
      await env.kafka.submit([
        {
          taskId: ids[i]!,
          spec: {
            capability: 'ha.handle-request',
            input: { n: i },
            timeoutMs: 1000,
            retryPolicy: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 500, jitter: 'FULL' },
          },
        },
      ]);
    }
    await until(() => finals.size >= requests, 60_000, 'every request to finish');
    const seconds = (performance.now() - started) / 1000;
    const servedBy: FaultTolerantResult['servedBy'] = { before: {}, killed: {}, restored: {} };
    let succeeded = 0;
    let retried = 0;
    for (const [id, f] of finals) {
      if (f.attempts > 1) retried++;
      if (f.status !== 'COMPLETED') continue;
      succeeded++;
      const phase = servedBy[phaseOf(index.get(id)!, requests)];
      const role = (f.instanceId && roleOf.get(f.instanceId)) ?? 'other';
      phase[role] = (phase[role] ?? 0) + 1;
    }
    const result: FaultTolerantResult = {
      requests,
      succeeded,
      failed: requests - succeeded,
      successRate: succeeded / requests,
      retried,
      breakerTrips: trips,
      servedBy,
      seconds,
    };
    env.log(
      `[fault-tolerant] ${succeeded}/${requests} requests succeeded = ${(result.successRate * 100).toFixed(1)}% (seed: 97%), ${retried} retried on another replica, ${trips} breaker trips, ${seconds.toFixed(1)} s`,
    );
    const show = (served: Record<string, number>) =>
      GROUPS.map((g) => `${g.role} ${served[g.role] ?? 0}`).join(', ');
    env.log(`[fault-tolerant]   served before the kill: ${show(servedBy.before)}`);
    env.log(`[fault-tolerant]   served while killed:    ${show(servedBy.killed)}`);
    env.log(`[fault-tolerant]   served after restore:   ${show(servedBy.restored)}`);
    return result;
  } finally {
    for (const stop of stops) stop();
    for (const r of runtimes) {
      r.runtime.runtime.setFault(null);
      await r.runtime.stop();
    }
  }
}
