import { testInfra, uniqueName } from '@waooaw/shared/testing';
import type { ExampleEnv } from '../../../bench/src/examples/common';
import { expectedReport, runEtl } from '../../../bench/src/examples/etl';
import { runFaultTolerant } from '../../../bench/src/examples/fault-tolerant';
import { runMonteCarlo, samplePi } from '../../../bench/src/examples/monte-carlo';
import { gatewayClient } from '../../../bench/src/graphql';
import type { BenchKafka } from '../../../bench/src/kafka';
import { createBenchKafka } from '../../../bench/src/kafka';
import { tokenFor } from '../gateway';
import { startRoutingPlatform } from '../platform';

/**
 * The three workflows `npm run example -- <name>` runs, at a small size, against discovery and
 * orchestration behind a gateway: each example hosts its own agents in an in-process runtime and
 * reports what it saw, and these tests hold the report to what the example promises its user.
 */
describe('the example workflows at a small size, through the gateway', () => {
  let platform: Awaited<ReturnType<typeof startRoutingPlatform>>;
  let kafka: BenchKafka;
  let env: ExampleEnv;

  beforeAll(async () => {
    platform = await startRoutingPlatform();
    const runId = uniqueName('ex');
    const { brokers, namespace } = testInfra();
    kafka = await createBenchKafka({ brokers, namespace }, runId);
    env = {
      brokers,
      namespace,
      operator: gatewayClient(platform.gateway.httpUrl, await tokenFor(['operator'], 'ops-examples')),
      kafka,
      runId,
      // The examples narrate for a person at a terminal; here only when asked for.
      log: (line) => {
        if (process.env.EXAMPLES_LOG) console.log(line);
      },
    };
  }, 60_000);
  afterAll(async () => {
    await kafka?.close();
    await platform?.stop();
  });

  it('etl: every record is exported or rejected, and the export equals the pipeline run locally', async () => {
    const records = 600;
    const shards = 3;
    const result = await runEtl(env, { records, shards, seed: 7 });

    const { report } = result;
    expect(result.verified).toBe(true);
    expect(report).toEqual(expectedReport(7, records, shards));
    expect(report.records + report.rejected).toBe(records);
    // Broken records (about 2% in the long run, 2 of these 600) are rejected, and only they.
    expect(report.rejected).toBeGreaterThan(0);
    expect(report.rejected).toBeLessThan(records * 0.1);
    // Regions normalised to upper case, and their totals add up to the report's.
    expect(Object.keys(report.regions)).toEqual(['CENTRAL', 'EAST', 'NORTH', 'SOUTH', 'WEST']);
    const regions = Object.values(report.regions);
    expect(regions.reduce((n, t) => n + t.count, 0)).toBe(report.records);
    expect(report.totalInr).toBeCloseTo(
      regions.reduce((n, t) => n + t.amountInr, 0),
      1,
    );
    for (const t of regions) expect(t.gstInr).toBeCloseTo(t.amountInr * 0.18, -1);
  }, 60_000);

  it('monte-carlo: estimates pi from every task, with the premium tier doing most of the work', async () => {
    const tasks = 40;
    const samplesPerTask = 20_000;
    // Slow enough that the two premium instances (2 tasks each) are not all busy even with this
    // platform's round trips, so the weights, not full instances, decide who runs what.
    const result = await runMonteCarlo(env, { tasks, samplesPerTask, ratePerS: 8 });

    // Every task completed and counted: the estimate is exactly the one the same seeds give here.
    expect(result.samples).toBe(tasks * samplesPerTask);
    let inside = 0;
    for (let i = 0; i < tasks; i++) inside += samplePi(7919 * (i + 1), samplesPerTask);
    expect(result.estimate).toBe((4 * inside) / result.samples);
    // 800,000 samples: the standard error is about 0.002.
    expect(result.error).toBeLessThan(0.01);

    const [premium, standard, budget] = result.tiers;
    expect(result.tiers.map((t) => t.tier)).toEqual(['PREMIUM', 'STANDARD', 'BUDGET']);
    expect(result.tiers.reduce((n, t) => n + t.tasks, 0)).toBe(tasks);
    for (const t of result.tiers) expect(t.tasks).toBeGreaterThan(0);
    // Weights 2x10, 4x1, 3x0.3: premium is meant for about 80% of the work, budget for under 4%.
    expect(premium!.share).toBeGreaterThan(0.5);
    expect(premium!.share).toBeGreaterThan(standard!.share);
    expect(premium!.share).toBeGreaterThan(budget!.share * 5);
    expect(premium!.expectedShare).toBeGreaterThan(budget!.expectedShare);
  }, 60_000);

  it('fault-tolerant: requests keep being answered while the primaries are down, and the primaries come back', async () => {
    // 18 s of requests: the primaries stay silent for 9 s, well past their 5 s heartbeat TTL, so
    // discovery sees them go and come back. Their tripped breakers stay OPEN for 10 s (AGGRESSIVE),
    // so whether they also serve again before the last request is a matter of timing: not asserted.
    const requests = 180;
    const primaries = `${env.runId}-ha-primary:`;
    const health = new Map<string, string[]>();
    const stop = kafka.listen({
      onInstanceChanged: (v) => {
        if (!v.instanceId.startsWith(primaries) || v.change === 'DEREGISTERED') return;
        const seen = health.get(v.instanceId) ?? [];
        if (seen.at(-1) !== v.health) health.set(v.instanceId, [...seen, v.health]);
      },
    });
    const result = await runFaultTolerant(env, { requests, ratePerS: 10 }).finally(stop);

    expect(result.requests).toBe(requests);
    expect(result.succeeded + result.failed).toBe(requests);
    expect(result.successRate).toBeGreaterThanOrEqual(0.97);
    // The killed primaries dropped what they were given: it was retried on another replica, and
    // their breakers opened.
    expect(result.retried).toBeGreaterThan(0);
    expect(result.breakerTrips).toBeGreaterThan(0);
    // The primaries did most of the work before the kill; while they were down the others served.
    const { before, killed } = result.servedBy;
    expect(before.primary ?? 0).toBeGreaterThan(before.secondary ?? 0);
    expect((killed.secondary ?? 0) + (killed.backup ?? 0)).toBeGreaterThan((killed.primary ?? 0) * 5);
    // Restored: each primary went silent (UNKNOWN) while killed and answered heartbeats again after.
    expect(health.size).toBe(3);
    for (const [id, states] of health) {
      const silent = states.indexOf('UNKNOWN');
      const back = silent >= 0 && states.slice(silent + 1).some((h) => h === 'HEALTHY' || h === 'DEGRADED');
      expect({ id, states, back }).toEqual({ id, states, back: true });
    }
  }, 60_000);
});
