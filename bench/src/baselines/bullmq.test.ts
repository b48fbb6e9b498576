import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { apportion, BENCH_TIERS } from '../fleet';
import { constantRate } from '../pacing';
import type { BaselineResult } from './bullmq';
import { runBullmqBaseline } from './bullmq';
import type { ComparedFigures } from './compare';
import { baselineRatios, baselineTable } from './compare';
import { baselineTiers, handlerCeilingPerS, tierPicker, tierShares } from './plan';
import { defaultRedisUrl, redactRedisUrl, redisAnswers } from './redis';

const REDIS_URL = defaultRedisUrl();

/**
 * jest decides what to skip while it collects the tests, before anything async can run: the probe
 * PINGs from a child process (the same client settings as redisAnswers, which the tests check too).
 */
function redisUnavailable(url: string): string | null {
  const probe = `
    const { Redis } = require('ioredis');
    const c = new Redis(process.argv[1], { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0,
      retryStrategy: () => null, enableOfflineQueue: false });
    c.on('error', () => {});
    c.connect().then(() => c.ping()).then(
      (p) => process.stdout.write(p === 'PONG' ? '' : 'answered ' + p),
      (e) => process.stdout.write('no answer: ' + e.message),
    ).finally(() => c.status !== 'end' && c.disconnect());`;
  const result = spawnSync(process.execPath, ['-e', probe, url], {
    cwd: path.resolve(__dirname, '..', '..', '..'),
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error) return result.error.message;
  return result.stdout.trim() || (result.status === 0 ? null : result.stderr.trim().slice(0, 200));
}

const unavailable = redisUnavailable(REDIS_URL);
if (unavailable)
  console.warn(`BullMQ baseline runs skipped: no Redis at ${redactRedisUrl(REDIS_URL)} (${unavailable})`);
const withRedis = unavailable ? describe.skip : describe;

/** Keys left under a run's prefix: there must be none once a run returns. */
async function keysUnder(prefix: string): Promise<number> {
  const client = new Redis(REDIS_URL, { lazyConnect: true });
  await client.connect();
  try {
    let count = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  } finally {
    client.disconnect();
  }
}

/** What every clean run shows: each job completed once, nothing lost, figures measured, queues gone. */
async function expectClean(result: BaselineResult) {
  expect(result.skipped).toBeUndefined();
  expect(result.submitted).toBeGreaterThan(0);
  expect(result.completed).toBe(result.submitted);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.failed).toBe(0);
  expect(result.successRate).toBe(1);
  expect(result.overheadMs.p50).not.toBeNull();
  expect(result.overheadMs.p95).not.toBeNull();
  expect(result.overheadMs.p99).not.toBeNull();
  // Latency spans the handler: each job's overhead (unclamped) is at least zero.
  expect(result.details.overheadMinMs).toBeGreaterThanOrEqual(0);
  expect(result.latencyMs.p50!).toBeGreaterThanOrEqual(result.handlerMs.p50!);
  // The fastest handler (PREMIUM) takes at least 10 ms.
  expect(result.handlerMs.p50!).toBeGreaterThanOrEqual(10);
  expect(result.tasksPerS).toBeGreaterThan(0);
  const worker = result.processes.find((p) => p.name === 'bullmq-worker');
  expect(worker?.cpuPercent).not.toBeNull();
  expect(result.details.worker).toMatchObject({
    runs: result.submitted,
    jobs: result.submitted,
    ranTwice: 0,
  });
  expect(await keysUnder(String(result.details.prefix))).toBe(0);
}

describe('the baseline plan', () => {
  test('tiers: the bench fleet counts, its handler times and its instances’ concurrency', () => {
    const tiers = baselineTiers(120);
    const counts = apportion(
      120,
      BENCH_TIERS.map((t) => t.share),
    );
    expect(tiers.map((t) => t.tier)).toEqual(BENCH_TIERS.map((t) => t.tier));
    expect(tiers.map((t) => t.instances)).toEqual(counts);
    expect(tiers[0]!.workMs).toEqual({ min: 10, max: 30 });
    expect(tiers[2]!.workMs).toEqual({ min: 70, max: 150 });
    // Every bench agent runs more than one task at once.
    for (const t of tiers) expect(t.concurrency).toBeGreaterThan(t.instances);
    expect(baselineTiers(120, 1).map((t) => t.concurrency)).toEqual(counts);
  });

  test('the mix: weight x instances by default, a measured share when given', () => {
    const tiers = baselineTiers(120);
    const shares = tierShares(tiers);
    // 10 x 24 : 1 x 60 : 0.3 x 36
    expect(shares.map((s) => Math.round(s * 1000))).toEqual([772, 193, 35]);
    expect(tierShares(tiers, { PREMIUM: 2, STANDARD: 1, BUDGET: 1, other: 5 })).toEqual([0.5, 0.25, 0.25]);
    expect(tierShares(tiers, {})).toEqual(shares);
  });

  test('the picker follows the shares in every prefix', () => {
    const pick = tierPicker([0.5, 0.3, 0.2]);
    const counts = [0, 0, 0];
    for (let n = 1; n <= 1000; n++) {
      counts[pick()]!++;
      [0.5, 0.3, 0.2].forEach((s, i) => expect(Math.abs(counts[i]! - s * n)).toBeLessThan(1));
    }
  });

  test('the handlers’ ceiling is set by the tier that fills first', () => {
    const tiers = [
      { tier: 'A', weight: 1, instances: 1, concurrency: 10, workMs: { min: 100, max: 100 } },
      { tier: 'B', weight: 1, instances: 1, concurrency: 10, workMs: { min: 10, max: 10 } },
    ];
    // A: 100/s and half the tasks -> 200/s; B: 1,000/s and half -> 2,000/s.
    expect(handlerCeilingPerS(tiers, [0.5, 0.5])).toBe(200);
  });
});

describe('WAOOAW against the baseline', () => {
  const figures = (over: Partial<ComparedFigures>): ComparedFigures => ({
    name: 'steady',
    tasksPerS: 250,
    latencyMs: { p50: 100, p95: 400, p99: 800 },
    overheadMs: { p50: 60, p95: 360, p99: 760 },
    successRate: 1,
    lost: 0,
    duplicates: 0,
    ...over,
  });

  test('ratios are WAOOAW / baseline, null where one side has no figure', () => {
    const r = baselineRatios(
      { ...figures({}), platformCpuMsPerTask: 12 },
      {
        ...figures({ tasksPerS: 500, latencyMs: { p50: 25, p95: 80, p99: null } }),
        overheadMs: { p50: 2, p95: 8, p99: 0 },
        cpuMsPerTask: 1.5,
      },
    );
    expect(r).toEqual({
      scenario: 'steady',
      tasksPerS: 0.5,
      latencyP50: 4,
      latencyP95: 5,
      latencyP99: null,
      overheadP50: 30,
      overheadP95: 45,
      overheadP99: null,
      cpuMsPerTask: 8,
    });
  });

  test('the table has both runs and their ratios, or the reason the baseline did not run', () => {
    const table = baselineTable([
      { waooaw: figures({}), baseline: figures({ tasksPerS: 125 }) },
      { waooaw: figures({ name: 'max' }), baseline: { ...figures({ name: 'max' }), skipped: 'no Redis' } },
    ]);
    expect(table).toContain('| steady WAOOAW/BullMQ ');
    expect(table).toMatch(/steady WAOOAW\/BullMQ\s+\|\s+2x/);
    expect(table).toMatch(/max BullMQ\s+\|\s+skipped/);
    expect(table).not.toContain('max WAOOAW/BullMQ');
  });
});

test('a Redis that does not answer gives a skipped result with the reason, not an error', async () => {
  const result = await runBullmqBaseline('steady', {
    redisUrl: 'redis://127.0.0.1:1',
    profile: constantRate(10, 1000),
  });
  expect(result.skipped).toMatch(/no Redis answered at redis:\/\/127\.0\.0\.1:1/);
  expect(result.completed).toBe(0);
});

withRedis(`BullMQ baseline on ${redactRedisUrl(REDIS_URL)}`, () => {
  test('redisAnswers: null for the running Redis', async () => {
    expect(await redisAnswers(REDIS_URL)).toBeNull();
  });

  test('steady: the offered rate, every job completed once, overhead measured', async () => {
    const result = await runBullmqBaseline('steady', {
      redisUrl: REDIS_URL,
      agents: 12,
      profile: constantRate(50, 2000),
      drainMs: 20_000,
    });
    expect(result.submitted).toBe(100);
    expect(result.offeredPerS).toBe(50);
    await expectClean(result);
    expect(Object.keys(result.tierShare).sort()).toEqual(['BUDGET', 'PREMIUM', 'STANDARD']);
  });

  test('max: never more than the window in flight, every job completed once', async () => {
    const result = await runBullmqBaseline('max', {
      redisUrl: REDIS_URL,
      agents: 12,
      window: 50,
      durationMs: 2000,
      drainMs: 20_000,
    });
    expect(result.offeredPerS).toBeNull();
    expect(result.details.window).toBe(50);
    expect(result.details.maxInFlight).toBe(50);
    await expectClean(result);
  });
});
