import { createHmac } from 'node:crypto';
import { runSkill } from '..';
import type { SkillContext, SkillResult } from '../types';
import { SkillInputError } from '../types';
import { platformOpsCapabilities } from './platform-ops';
import { hash } from './kit/text';
import { capabilityDescriber, testCapability, testManifest } from './__tests__/fixtures';

const manifest = (name: string, concurrency = 1) =>
  testManifest([testCapability(name, 'application/json')], {
    handle: 'wow-ops',
    name: 'WowOps',
    specialization: 'Platform operations',
    runtime: { concurrency, timeoutMs: 1000, weight: 1 },
  });

const now = new Date('2026-01-05T09:00:00Z');
const context: SkillContext = { now };

const run = (name: string, input: unknown, concurrency?: number): Promise<SkillResult> =>
  runSkill(manifest(name, concurrency), name, input, context);

/** Runs a capability and parses its JSON deliverable into the shape the test expects. */
async function runJson<T>(name: string, input: unknown, concurrency?: number) {
  const result = await run(name, input, concurrency);
  expect(result.format).toBe('application/json');
  const body = JSON.parse(result.content) as T & { agent: string; capability: string; at: string };
  expect(body).toMatchObject({ agent: 'wow-ops', capability: `${name}@1.0.0`, at: now.toISOString() });
  return { result, body };
}

const rejects = (name: string, input: unknown) => expect(run(name, input)).rejects.toThrow(SkillInputError);

const { capability, tested } = capabilityDescriber();

describe('platform-ops registry', () => {
  it('has 22 capabilities, each tested below', () => {
    expect(Object.keys(platformOpsCapabilities)).toHaveLength(22);
    expect([...tested].sort()).toEqual(Object.keys(platformOpsCapabilities).sort());
  });
  it('rejects input that is not an ask', async () => {
    for (const name of Object.keys(platformOpsCapabilities)) {
      await rejects(name, 42);
      await rejects(name, { request: 'x' });
    }
  });
});

// ---- cache -------------------------------------------------------------------------------------

capability('cache.plan-strategy', () => {
  interface Plan {
    namespace: string;
    keyPattern: string;
    ttlSeconds: number;
    inputs: { readsPerSecond: number; writesPerSecond: number; distinctKeys: number };
    expectedHitRatio: number;
    expectedOriginReadsPerSecond: number;
    invalidateOn: string[];
    recommendation: string;
  }
  it('computes the hit ratio from reads per key within a TTL life', async () => {
    // life = min(60 s TTL, 1000 keys / 0.5 writes/s = 2000 s) = 60 s; reads per key per life = 100/1000*60 = 6;
    // hit ratio = 6 / (6 + 1) = 0.857; origin reads = 100 * (1 - 0.857) = 14.3/s.
    const { result, body } = await runJson<Plan>('cache.plan-strategy', {
      request: 'Plan caching for product-catalog reads',
      details: { readsPerSecond: 100, writesPerSecond: 0.5, distinctKeys: 1000, maxStalenessSeconds: 60 },
    });
    expect(result.summary).toBe('TTL 60s, expected hit ratio 85.7%');
    expect(result.title).toBe('Cache strategy: product-catalog');
    expect(body).toMatchObject({
      namespace: 'product-catalog',
      keyPattern: 'product-catalog:v1:{id}',
      ttlSeconds: 60,
      inputs: { readsPerSecond: 100, writesPerSecond: 0.5, distinctKeys: 1000 },
      expectedHitRatio: 0.857,
      expectedOriginReadsPerSecond: 14.3,
      invalidateOn: ['product-catalog.updated', 'product-catalog.deleted'],
      recommendation: 'cache-aside with tag invalidation',
    });
  });
  it('reads the rate from the text and shortens the TTL for stock data', async () => {
    // 600 reads per minute = 10/s; "stock" -> 30 s TTL; life = min(30, 500 / 0.05) = 30;
    // 10/500*30 = 0.6 reads per life -> 0.6 / 1.6 = 0.375, below 0.5 so caching is discouraged.
    const { result, body } = await runJson<Plan>(
      'cache.plan-strategy',
      'Cache the stock levels listing, 600 reads per minute',
    );
    expect(result.summary).toBe('TTL 30s, expected hit ratio 37.5%');
    expect(body.namespace).toBe('stock-levels');
    expect(body.keyPattern).toBe('stock-levels:v1:{id}:{filtersHash}:{page}');
    expect(body.inputs).toEqual({ readsPerSecond: 10, writesPerSecond: 0.05, distinctKeys: 500 });
    expect(body.expectedHitRatio).toBe(0.375);
    expect(body.expectedOriginReadsPerSecond).toBe(6.25);
    expect(body.recommendation).toMatch(/^low reuse per key/);
  });
});

capability('cache.invalidate', () => {
  interface Invalidation {
    mode: string;
    target: string;
    command: string;
    matchedKeys: string[];
    keptEntries: number;
  }
  const entries = [
    { key: 'catalog:v1:1', tags: ['pricing'] },
    { key: 'catalog:v1:2', tags: ['pricing', 'stock'] },
    { key: 'user:v1:1', tags: ['profile'] },
    { key: 'catalog:v2:1', tags: 'stock, pricing' },
  ];
  it('matches entries by prefix', async () => {
    const { result, body } = await runJson<Invalidation>('cache.invalidate', {
      request: 'Invalidate prefix catalog:v1:',
      details: { entries },
    });
    expect(result.summary).toBe('invalidate prefix catalog:v1:: 2 of 4 known entries');
    expect(body).toEqual(
      expect.objectContaining({
        mode: 'prefix',
        target: 'catalog:v1:',
        command: 'SCAN MATCH catalog:v1:* | UNLINK',
        matchedKeys: ['catalog:v1:1', 'catalog:v1:2'],
        keptEntries: 2,
      }),
    );
  });
  it('matches entries by tag, including comma-separated tags', async () => {
    const { body } = await runJson<Invalidation>('cache.invalidate', {
      request: 'Invalidate everything tagged pricing',
      details: { entries },
    });
    expect(body.mode).toBe('tag');
    expect(body.command).toBe('SMEMBERS tag:pricing | DEL');
    expect(body.matchedKeys).toEqual(['catalog:v1:1', 'catalog:v1:2', 'catalog:v2:1']);
    expect(body.keptEntries).toBe(1);
  });
  it('matches a single key exactly', async () => {
    const { body } = await runJson<Invalidation>('cache.invalidate', {
      request: 'Drop key user:v1:1',
      details: { entries },
    });
    expect(body).toMatchObject({ mode: 'key', command: 'DEL user:v1:1', matchedKeys: ['user:v1:1'] });
  });
  it('needs a target and well-formed entries', async () => {
    await rejects('cache.invalidate', 'Invalidate the cache please');
    await rejects('cache.invalidate', { request: 'Invalidate key a', details: { entries: ['a'] } });
  });
});

capability('cache.report-hit-ratio', () => {
  interface HitReport {
    namespace: string;
    windowHours: number;
    from: string;
    hits: number;
    misses: number;
    hitRatioPercent: number;
    evictions: number;
    requestsPerSecond: number;
    hotKeys: { key: string; hitRatio: number }[];
    coldKeys: string[];
  }
  it('aggregates hits and misses over the window', async () => {
    // 75 hits / 100 lookups = 75%; 100 lookups over 6 h = 0.005/s; b is cold at 5/20 = 25%.
    const { result, body } = await runJson<HitReport>('cache.report-hit-ratio', {
      request: 'Hit ratio for session-store over the last 6 hours',
      details: {
        keys: [
          { key: 'b', hits: 5, misses: 15, evictions: 1 },
          { key: 'a', hits: 70, misses: 10, evictions: 4 },
          { key: 'c', hits: 0, misses: 0 },
        ],
      },
    });
    expect(result.summary).toBe('75% hit ratio over 6h (3 keys)');
    expect(result.title).toBe('Hit ratio: session-store');
    expect(body).toMatchObject({
      namespace: 'session-store',
      windowHours: 6,
      from: '2026-01-05T03:00:00.000Z',
      hits: 75,
      misses: 25,
      hitRatioPercent: 75,
      evictions: 5,
      requestsPerSecond: 0.005,
      coldKeys: ['b'],
    });
    expect(body.hotKeys.map((k) => [k.key, k.hitRatio])).toEqual([
      ['a', 87.5],
      ['b', 25],
      ['c', 0],
    ]);
  });
  it('defaults to 24 hours and converts days', async () => {
    const day = await runJson<HitReport>('cache.report-hit-ratio', 'Hit ratio of the catalog');
    expect(day.body).toMatchObject({ windowHours: 24, hits: 0, hitRatioPercent: 0 });
    const week = await runJson<HitReport>('cache.report-hit-ratio', 'Hit ratio for the last 7 days');
    expect(week.body.windowHours).toBe(168);
    expect(week.body.from).toBe('2025-12-29T09:00:00.000Z');
  });
  it('rejects malformed key stats', async () => {
    await rejects('cache.report-hit-ratio', { request: 'Hit ratio', details: { keys: 'a,b' } });
  });
});

// ---- messaging ---------------------------------------------------------------------------------

capability('messaging.negotiate-protocol', () => {
  interface Negotiation {
    from: string;
    to: string;
    compatible: boolean;
    protocolVersion: string | null;
    modes: string[];
    requestedMode: string | null;
    problems: string[];
  }
  it('agrees the highest shared version (numerically) and a shared mode', async () => {
    const { result, body } = await runJson<Negotiation>('messaging.negotiate-protocol', {
      request: 'Negotiate between wow-support and wow-analytics for application/json',
      details: {
        from: {
          protocolVersions: ['1.2', '2.0', '10.0'],
          outputModes: ['application/json', 'text/markdown'],
        },
        to: { protocolVersions: ['2.0', '10.0', '11.0'], inputModes: ['application/json'] },
      },
    });
    expect(result.title).toBe('Protocol: wow-support -> wow-analytics');
    expect(result.summary).toBe('agreed v10.0 with application/json');
    expect(body).toMatchObject({
      from: 'wow-support',
      to: 'wow-analytics',
      compatible: true,
      protocolVersion: '10.0',
      modes: ['application/json'],
      requestedMode: 'application/json',
      problems: [],
    });
  });
  it('reports why two agents cannot talk', async () => {
    const { result, body } = await runJson<Negotiation>('messaging.negotiate-protocol', {
      request: 'Can wow-support send application/json to wow-memory?',
      details: { to: { protocolVersions: ['3.0'], inputModes: ['text/markdown'] } },
    });
    expect(result.summary).toBe('no compatible protocol');
    expect(body).toMatchObject({
      compatible: false,
      protocolVersion: null,
      modes: ['text/markdown'],
      problems: ['no shared protocol version', 'wow-memory does not accept application/json'],
    });
  });
});

capability('messaging.deliver-message', () => {
  interface Delivery {
    correlationId: string;
    to: string;
    from: string;
    retryPolicy: { maxAttempts: number; backoff: string; baseDelayMs: number };
    schedule: { attempt: number; at: string; delayMs: number }[];
    giveUpAt: string;
    receipt: { awaitReceipt: boolean; timeoutMs: number };
  }
  const ask = {
    request: 'Deliver the report to wow-analytics and wait for receipt',
    details: { maxAttempts: 4, baseDelayMs: 1000 },
  };
  it('schedules exponential retries from the task clock', async () => {
    const { result, body } = await runJson<Delivery>('messaging.deliver-message', ask);
    // Delays 0, 1 s, 2 s, 4 s -> attempts at +0, +1, +3, +7 s; receipt timeout 7 s + 1 s * 2^4 = 23 s.
    expect(body.schedule).toEqual([
      { attempt: 1, at: '2026-01-05T09:00:00.000Z', delayMs: 0 },
      { attempt: 2, at: '2026-01-05T09:00:01.000Z', delayMs: 1000 },
      { attempt: 3, at: '2026-01-05T09:00:03.000Z', delayMs: 2000 },
      { attempt: 4, at: '2026-01-05T09:00:07.000Z', delayMs: 4000 },
    ]);
    expect(body).toMatchObject({
      to: 'wow-analytics',
      from: 'wow-ops',
      retryPolicy: { maxAttempts: 4, backoff: 'exponential', baseDelayMs: 1000 },
      giveUpAt: '2026-01-05T09:00:07.000Z',
      receipt: { awaitReceipt: true, timeoutMs: 23_000 },
    });
    const expectedId = `msg-${hash(`${ask.request}|${now.getTime()}|wow-analytics`)
      .toString(16)
      .padStart(8, '0')}`;
    expect(body.correlationId).toBe(expectedId);
    expect(result.summary).toBe(`${expectedId} to wow-analytics, up to 4 attempts`);
  });
  it('caps attempts at 10 and defaults to 500 ms base delay', async () => {
    const { body } = await runJson<Delivery>('messaging.deliver-message', {
      request: 'Send the digest',
      details: { to: 'wow-notification', maxAttempts: 20 },
    });
    expect(body.to).toBe('wow-notification');
    expect(body.schedule).toHaveLength(10);
    // 500 * (2^9 - 1) = 255,500 ms after the first attempt.
    expect(body.giveUpAt).toBe(new Date(now.getTime() + 255_500).toISOString());
    expect(body.receipt.awaitReceipt).toBe(false);
  });
  it('needs a receiver', async () => {
    await rejects('messaging.deliver-message', 'Deliver the report');
  });
});

capability('messaging.trace-conversation', () => {
  interface Trace {
    traceId: string;
    hops: { hop: number; from: string; to: string; status: string; waitMs: number }[];
    stall: { hop: number; from: string; to: string; reason: string } | null;
    note?: string;
  }
  it('orders spans by time and finds the longest silent gap', async () => {
    const { result, body } = await runJson<Trace>('messaging.trace-conversation', {
      request: 'Why did trace 7f3a stall?',
      details: {
        spans: [
          { from: 'wow-analytics', to: 'wow-support', at: '2026-01-05T08:00:31.000Z' },
          { from: 'wow-support', to: 'wow-memory', at: '2026-01-05T08:00:00.000Z' },
          { from: 'wow-memory', to: 'wow-analytics', at: '2026-01-05T08:00:01.000Z' },
        ],
      },
    });
    expect(result.summary).toBe('stalled at hop 2 of 3');
    expect(body.traceId).toBe('7f3a');
    expect(body.hops.map((h) => [h.hop, h.from, h.waitMs])).toEqual([
      [1, 'wow-support', 0],
      [2, 'wow-memory', 1000],
      [3, 'wow-analytics', 30_000],
    ]);
    expect(body.stall).toMatchObject({
      hop: 2,
      from: 'wow-memory',
      to: 'wow-analytics',
      reason: 'no reply for 30000ms',
    });
  });
  it('prefers a failed hop and passes quick traces', async () => {
    const failed = await runJson<Trace>('messaging.trace-conversation', {
      request: 'trace abc1',
      details: {
        spans: [
          { from: 'a', to: 'b', at: '2026-01-05T08:00:00.000Z' },
          { from: 'b', to: 'c', at: '2026-01-05T08:00:09.000Z' },
          { from: 'c', to: 'd', at: '2026-01-05T08:00:10.000Z', status: 'timeout' },
        ],
      },
    });
    expect(failed.result.summary).toBe('stalled at hop 3 of 3');
    expect(failed.body.stall).toMatchObject({ hop: 3, reason: 'failed status' });
    const quick = await runJson<Trace>('messaging.trace-conversation', {
      request: 'conversation 99ff',
      details: {
        spans: [
          { from: 'a', to: 'b', at: '2026-01-05T08:00:00.000Z' },
          { from: 'b', to: 'a', at: '2026-01-05T08:00:05.000Z' },
        ],
      },
    });
    expect(quick.result.summary).toBe('2 hops, no stall found');
    expect(quick.body.stall).toBeNull();
    const empty = await runJson<Trace>('messaging.trace-conversation', {
      request: 'Trace it',
      details: { traceId: 't-1' },
    });
    expect(empty.body.note).toMatch(/no spans supplied/);
  });
  it('needs a trace id', async () => {
    await rejects('messaging.trace-conversation', 'Where did it stall?');
  });
});

// ---- memory ------------------------------------------------------------------------------------

capability('memory.store-context', () => {
  interface Stored {
    id: string;
    fact: string;
    keywords: string[];
    sensitivity: string;
    sensitivityReasons: string[];
    retentionDays: number;
    expiresAt: string;
    dedupeKey: string;
  }
  it('stores an ordinary fact as internal for a year', async () => {
    const { result, body } = await runJson<Stored>(
      'memory.store-context',
      'Remember that Priya prefers calls after 6 pm.',
    );
    expect(body).toMatchObject({
      fact: 'Priya prefers calls after 6 pm',
      keywords: ['priya', 'prefer', 'call', 'pm'],
      sensitivity: 'internal',
      sensitivityReasons: [],
      retentionDays: 365,
      expiresAt: '2027-01-05T09:00:00.000Z',
    });
    expect(body.id).toBe(`mem-${hash('priya prefers calls after 6 pm').toString(16)}`);
    expect(body.dedupeKey).toBe(body.id);
    expect(result.summary).toBe(`${body.id} stored as internal for 365 days`);
  });
  it('classifies personal data as restricted and sensitive topics as confidential', async () => {
    const restricted = await runJson<Stored>(
      'memory.store-context',
      'Remember that Ravi can be reached at ravi@example.com or 9876543210 and his salary is 12 lakh',
    );
    expect(restricted.body).toMatchObject({
      sensitivity: 'restricted',
      sensitivityReasons: ['email address', 'phone number', 'sensitive topic'],
      retentionDays: 30,
      expiresAt: '2026-02-04T09:00:00.000Z',
    });
    const confidential = await runJson<Stored>(
      'memory.store-context',
      'Remember the student has a medical note for Friday',
    );
    expect(confidential.body).toMatchObject({
      fact: 'the student has a medical note for Friday',
      sensitivity: 'confidential',
      retentionDays: 90,
      expiresAt: '2026-04-05T09:00:00.000Z',
    });
    const custom = await runJson<Stored>('memory.store-context', {
      request: 'Remember that the shop opens at 10',
      details: { retentionDays: 7 },
    });
    expect(custom.body.expiresAt).toBe('2026-01-12T09:00:00.000Z');
  });
  it('gives the same fact the same id regardless of case', async () => {
    const a = await runJson<Stored>('memory.store-context', 'Remember that Priya prefers calls');
    const b = await runJson<Stored>('memory.store-context', 'remember priya PREFERS calls.');
    expect(a.body.id).toBe(b.body.id);
  });
});

capability('memory.recall-context', () => {
  interface Recall {
    tokenBudget: number;
    tokensUsed: number;
    facts: { text: string; at: string | null; score: number; tokens: number }[];
    dropped: number;
  }
  const facts = [
    { text: 'Office closes on Sundays', at: '2025-01-05T09:00:00.000Z' },
    { text: 'Customer paid by UPI last month', at: '2025-10-07T09:00:00.000Z' },
    { text: 'Customer prefers the evening delivery slot', at: '2026-01-05T09:00:00.000Z' },
  ];
  const request = 'What delivery slot does the customer prefer?';
  it('scores by overlap and recency and keeps facts within the token budget', async () => {
    // Fact 1: 4/4 query stems, age 0 -> 0.8 + 0.2 = 1; 6 words * 1.3 -> 8 tokens.
    // Fact 2: 1/4 stems (customer), 90 days old -> 0.2 + 0.2 * e^-1 = 0.274; 8 tokens.
    // Fact 3: no overlap, 365 days old -> 0.003, under the 0.2 floor.
    const { result, body } = await runJson<Recall>('memory.recall-context', {
      request,
      details: { facts, tokenBudget: 10 },
    });
    expect(result.summary).toBe('1 of 3 facts within 10 tokens');
    expect(body).toMatchObject({ tokenBudget: 10, tokensUsed: 8, dropped: 2 });
    expect(body.facts).toEqual([
      {
        text: 'Customer prefers the evening delivery slot',
        at: '2026-01-05T09:00:00.000Z',
        score: 1,
        tokens: 8,
      },
    ]);
  });
  it('keeps more facts within the default budget of 200 tokens', async () => {
    const { result, body } = await runJson<Recall>('memory.recall-context', { request, details: { facts } });
    expect(result.summary).toBe('2 of 3 facts within 200 tokens');
    expect(body.tokensUsed).toBe(16);
    expect(body.facts.map((f) => f.score)).toEqual([1, 0.274]);
  });
  it('rejects malformed facts', async () => {
    await rejects('memory.recall-context', { request, details: { facts: 'none' } });
  });
});

capability('memory.summarize-history', () => {
  interface History {
    since: string;
    sessions: number;
    decisions: string[];
    preferences: string[];
    openItems: string[];
    topics: Record<string, number>;
  }
  it('keeps sessions in the window and sorts their sentences', async () => {
    const { result, body } = await runJson<History>('memory.summarize-history', {
      request: 'Summarise the last 2 months with this parent',
      details: {
        sessions: [
          {
            at: '2025-12-20T10:00:00.000Z',
            text: 'We agreed on two maths sessions a week. Parent prefers evenings. Is the fee changing next term?',
          },
          { at: '2025-10-01T10:00:00.000Z', text: 'Old session decided nothing.' },
          { text: 'Follow up on the maths worksheet.' },
        ],
      },
    });
    // 2 months = 60 days before 2026-01-05T09:00Z.
    expect(body.since).toBe('2025-11-06T09:00:00.000Z');
    expect(result.summary).toBe('2 sessions since 2025-11-06 compacted to 4 lines');
    expect(body.sessions).toBe(2);
    expect(body.decisions).toEqual(['We agreed on two maths sessions a week.']);
    expect(body.preferences).toEqual(['Parent prefers evenings.']);
    expect(body.openItems).toEqual(['Is the fee changing next term?', 'Follow up on the maths worksheet.']);
    expect(body.topics).toMatchObject({ maths: 2, worksheet: 1, parent: 1 });
    expect(body.topics).not.toHaveProperty('decided');
  });
  it('defaults to three months', async () => {
    const { body } = await runJson<History>('memory.summarize-history', 'Summarise our history');
    expect(body.since).toBe('2025-10-07T09:00:00.000Z');
    expect(body.sessions).toBe(0);
  });
});

// ---- scaling -----------------------------------------------------------------------------------

capability('scaling.forecast-capacity', () => {
  interface Forecast {
    basis: string;
    meanPerDay: number;
    trendPerDay: number;
    seasonalMultiplier: number;
    forecast: { date: string; requests: number }[];
    peakPerDay: number;
    peakRequestsPerSecond: number;
  }
  it('extends the least-squares trend of the history', async () => {
    // mean 115, slope 50/5 = 10/day; the next days sit 2.5, 3.5, 4.5 steps from the centre: 140, 150, 160.
    const { result, body } = await runJson<Forecast>('scaling.forecast-capacity', {
      request: 'Forecast the next 3 days',
      details: { history: [100, 110, 120, 130] },
    });
    expect(result.summary).toBe('peak 160 requests/day over 3 days (x1 season)');
    expect(body).toMatchObject({
      basis: '4 days of history',
      meanPerDay: 115,
      trendPerDay: 10,
      seasonalMultiplier: 1,
      peakPerDay: 160,
      peakRequestsPerSecond: 0.006,
    });
    expect(body.forecast).toEqual([
      { date: '2026-01-06', requests: 140 },
      { date: '2026-01-07', requests: 150 },
      { date: '2026-01-08', requests: 160 },
    ]);
  });
  it('applies exam and festival seasons', async () => {
    const exam = await runJson<Forecast>('scaling.forecast-capacity', {
      request: 'Forecast 2 days around the JEE results',
      details: { history: [1000, 1000] },
    });
    expect(exam.body.forecast.map((f) => f.requests)).toEqual([2500, 2500]);
    expect(exam.body.seasonalMultiplier).toBe(2.5);
    const festival = await runJson<Forecast>('scaling.forecast-capacity', {
      request: 'Forecast the Diwali sale',
      details: { baselinePerDay: 400 },
    });
    expect(festival.body.basis).toBe('no details.history; baseline assumed');
    expect(festival.body.forecast).toHaveLength(7);
    expect(festival.body.forecast[6]).toEqual({ date: '2026-01-12', requests: 720 });
    expect(festival.result.summary).toBe('peak 720 requests/day over 7 days (x1.8 season)');
  });
  it('refuses a forecast of no days', async () => {
    await expect(run('scaling.forecast-capacity', { request: 'Forecast 0 days' })).rejects.toThrow(
      SkillInputError,
    );
  });
});

capability('scaling.recommend-replicas', () => {
  interface Replicas {
    target: string | null;
    arrivalPerSecond: number;
    serviceTimeSeconds: number;
    averageInFlight: number;
    concurrencyPerInstance: number;
    targetUtilisation: number;
    replicas: number;
    utilisationAtRecommendation: number;
    minimumWithoutHeadroom: number;
  }
  it("sizes replicas with Little's law and headroom", async () => {
    // 3,600/h = 1/s; L = 1 * 4 s = 4 in flight; 4 / (2 * 0.7) = 2.86 -> 3 replicas at 4/6 = 0.667.
    const { result, body } = await runJson<Replicas>('scaling.recommend-replicas', {
      request: 'How many replicas for wow-support at 3,600 tickets an hour?',
      details: { serviceTimeMs: 4000, concurrencyPerInstance: 2 },
    });
    expect(result.summary).toBe('3 replicas for 1 req/s');
    expect(body).toEqual(
      expect.objectContaining({
        target: 'wow-support',
        arrivalPerSecond: 1,
        serviceTimeSeconds: 4,
        averageInFlight: 4,
        concurrencyPerInstance: 2,
        targetUtilisation: 0.7,
        replicas: 3,
        utilisationAtRecommendation: 0.667,
        minimumWithoutHeadroom: 2,
      }),
    );
  });
  it("uses the manifest's concurrency and keeps at least two replicas", async () => {
    // 50/s * 0.2 s = 10 in flight; per instance 4 at 70% -> ceil(10 / 2.8) = 4.
    const busy = await runJson<Replicas>(
      'scaling.recommend-replicas',
      { request: 'Size the pool', details: { requestsPerSecond: 50, serviceTimeMs: 200 } },
      4,
    );
    expect(busy.body).toMatchObject({ target: null, concurrencyPerInstance: 4, replicas: 4 });
    expect(busy.body.minimumWithoutHeadroom).toBe(3);
    const quiet = await runJson<Replicas>('scaling.recommend-replicas', 'Scale for 60 requests per hour');
    // 60/h = 1/60 per s; 1/60 * 2 s = 0.033 in flight -> still 2 replicas.
    expect(quiet.body).toMatchObject({ arrivalPerSecond: 0.0167, averageInFlight: 0.03, replicas: 2 });
  });
  it('needs a load', async () => {
    await rejects('scaling.recommend-replicas', 'Scale wow-support');
  });
});

capability('scaling.rebalance-workload', () => {
  interface Rebalance {
    pool: string;
    totalQueued: number;
    targets: Record<string, number>;
    moves: { from: string; to: string; tasks: number }[];
    note?: string;
  }
  it('evens queues out by weight', async () => {
    const even = await runJson<Rebalance>('scaling.rebalance-workload', {
      request: 'Rebalance the tutor-pool queues',
      details: {
        instances: [
          { id: 'a', queued: 30 },
          { id: 'b', queued: 0 },
          { id: 'c', queued: 0 },
        ],
      },
    });
    expect(even.result.summary).toBe('20 tasks moved across 3 instances');
    expect(even.body).toMatchObject({
      pool: 'tutor-pool',
      totalQueued: 30,
      targets: { a: 10, b: 10, c: 10 },
      moves: [
        { from: 'a', to: 'b', tasks: 10 },
        { from: 'a', to: 'c', tasks: 10 },
      ],
    });
    const weighted = await runJson<Rebalance>('scaling.rebalance-workload', {
      request: 'Rebalance',
      details: {
        instances: [
          { id: 'x', queued: 0, weight: 2 },
          { id: 'y', queued: 12, weight: 1 },
        ],
      },
    });
    // 12 tasks split 2:1 -> x 8, y 4.
    expect(weighted.body.targets).toEqual({ x: 8, y: 4 });
    expect(weighted.body.moves).toEqual([{ from: 'y', to: 'x', tasks: 8 }]);
  });
  it('moves nothing without instances', async () => {
    const { result, body } = await runJson<Rebalance>('scaling.rebalance-workload', 'Rebalance the queue');
    expect(result.summary).toBe('0 tasks moved across 0 instances');
    expect(body.moves).toEqual([]);
    expect(body.note).toMatch(/no details\.instances/);
  });
  it('rejects malformed instances', async () => {
    await rejects('scaling.rebalance-workload', { request: 'Rebalance', details: { instances: [1, 2] } });
  });
});

// ---- events ------------------------------------------------------------------------------------

capability('event.route', () => {
  interface Route {
    event: string;
    topic: string;
    partitionKey: string;
    partitions: number;
    subscribers: string[];
    ordering: string;
    deadLetterTopic: string;
  }
  it('routes a trial event to its subscribers with enough partitions', async () => {
    // 100 events/s over 10/s per consumer * 1.5 = 15 partitions.
    const { result, body } = await runJson<Route>('event.route', {
      request: 'Route marketplace.trial.started',
      details: { eventsPerSecond: 100, consumerEventsPerSecond: 10 },
    });
    expect(result.summary).toBe(
      'marketplace.trial.started -> marketplace.events keyed by trialId, 3 subscribers',
    );
    expect(body).toEqual(
      expect.objectContaining({
        event: 'marketplace.trial.started',
        topic: 'marketplace.events',
        partitionKey: 'trialId',
        partitions: 15,
        subscribers: ['wow-analytics', 'wow-memory', 'wow-notification'],
        ordering: 'per trialId (same key, same partition)',
        deadLetterTopic: 'marketplace.events.dlq',
      }),
    );
  });
  it('combines every matching rule and uses default rates', async () => {
    // 50/20 * 1.5 = 3.75 -> 4 partitions.
    const { body } = await runJson<Route>('event.route', 'Where does identity.agent.updated go?');
    expect(body.subscribers).toEqual(['wow-analytics', 'wow-cache', 'wow-search']);
    expect(body.partitions).toBe(4);
    expect(body.partitionKey).toBe('agentId');
  });
  it('needs a context.entity.action name', async () => {
    await rejects('event.route', 'Route the signup event');
  });
});

capability('event.validate-contract', () => {
  interface Contract {
    event: string | null;
    changes: { field: string; change: string; breaking: boolean }[];
    breaking: boolean;
    versionBump: string;
  }
  it('classifies schema changes field by field', async () => {
    const { result, body } = await runJson<Contract>('event.validate-contract', {
      request: 'Check marketplace.trial.started v2',
      details: {
        before: {
          trialId: { type: 'string', required: true },
          amount: { type: 'number' },
          note: { type: 'string' },
          legacy: { type: 'string' },
        },
        after: {
          trialId: { type: 'string', required: true },
          amount: { type: 'string' },
          note: { type: 'string', required: true },
          channel: { type: 'string' },
        },
      },
    });
    expect(result.summary).toBe('3 breaking change(s): bump the major version');
    expect(body).toMatchObject({ event: 'marketplace.trial.started', breaking: true, versionBump: 'major' });
    expect(body.changes).toEqual([
      { field: 'amount', change: 'type number -> string', breaking: true },
      { field: 'note', change: 'made required', breaking: true },
      { field: 'legacy', change: 'removed', breaking: true },
      { field: 'channel', change: 'added optional', breaking: false },
    ]);
  });
  it('classifies a described change without schemas', async () => {
    const optional = await runJson<Contract>(
      'event.validate-contract',
      'Is adding an optional "coupon" field to billing.invoice.paid safe?',
    );
    expect(optional.result.summary).toBe('1 change(s), none breaking');
    expect(optional.body).toMatchObject({
      event: 'billing.invoice.paid',
      changes: [{ field: 'coupon', change: 'added optional', breaking: false }],
      versionBump: 'minor',
    });
    const required = await runJson<Contract>('event.validate-contract', 'Adding a required "gstin" field');
    expect(required.body.changes).toEqual([{ field: 'gstin', change: 'added required', breaking: true }]);
    const defaulted = await runJson<Contract>(
      'event.validate-contract',
      'Adding a required "gstin" field with a default',
    );
    expect(defaulted.body.breaking).toBe(false);
    const renamed = await runJson<Contract>('event.validate-contract', 'Renaming "amount" to "total"');
    expect(renamed.body).toMatchObject({ breaking: true, versionBump: 'major' });
  });
});

capability('event.replay-dead-letters', () => {
  interface Replay {
    topic: string;
    window: { from: string; to: string };
    results: { id: string; error: string; outcome: string }[];
  }
  it('replays transient failures once and keeps poison messages', async () => {
    const { result, body } = await runJson<Replay>('event.replay-dead-letters', {
      request: 'Replay billing.invoice dead letters from the last 2 hours',
      details: {
        messages: [
          { id: 'm1', at: '2026-01-05T08:00:00.000Z', error: 'Connection reset by peer' },
          { id: 'm2', at: '2026-01-05T08:10:00.000Z', error: 'schema validation failed' },
          { id: 'm1', at: '2026-01-05T08:20:00.000Z', error: 'timeout' },
          { id: 'm3', at: '2026-01-05T06:00:00.000Z', error: '503 unavailable' },
          { id: 'm4', error: 'HTTP 503' },
        ],
      },
    });
    expect(result.title).toBe('Replay billing.invoice.dlq');
    expect(result.summary).toBe('2 replayed, 1 kept, 1 duplicates since 2026-01-05T07:00:00.000Z');
    expect(body.topic).toBe('billing.invoice');
    expect(body.window).toEqual({ from: '2026-01-05T07:00:00.000Z', to: '2026-01-05T09:00:00.000Z' });
    expect(body.results.map((r) => [r.id, r.outcome])).toEqual([
      ['m1', 'replayed'],
      ['m2', 'kept-poison'],
      ['m1', 'skipped-duplicate'],
      ['m4', 'replayed'],
    ]);
  });
  it('defaults to the last hour and takes the topic from details', async () => {
    const { body } = await runJson<Replay>('event.replay-dead-letters', {
      request: 'Replay the dead letters',
      details: { topic: 'orders', messages: [{ id: 'a', at: '2026-01-05T07:59:59.000Z', error: 'timeout' }] },
    });
    expect(body.window.from).toBe('2026-01-05T08:00:00.000Z');
    expect(body.results).toEqual([]);
  });
  it('needs a topic', async () => {
    await rejects('event.replay-dead-letters', 'Replay the dead letters');
  });
});

// ---- domain ------------------------------------------------------------------------------------

capability('domain.model-bounded-context', () => {
  interface Model {
    context: string;
    aggregates: { root: string; entities: string[]; valueObjects: string[] }[];
    invariants: string[];
    domainEvents: string[];
    commands: string[];
  }
  it('makes the first concept the aggregate root', async () => {
    const { result, body } = await runJson<Model>(
      'domain.model-bounded-context',
      'Model the trial context: trials, deliverables and conversions',
    );
    expect(result.summary).toBe('Trial aggregate with 2 entities');
    expect(body.context).toBe('trial');
    expect(body.aggregates).toEqual([
      {
        root: 'Trial',
        entities: ['Deliverable', 'Conversion'],
        valueObjects: ['TrialId', 'DeliverableId', 'ConversionId', 'Period'],
      },
    ]);
    expect(body.invariants).toEqual([
      'a Trial is changed only through its root',
      'every Deliverable belongs to exactly one Trial',
      'every Conversion belongs to exactly one Trial',
    ]);
    expect(body.domainEvents).toHaveLength(6);
    expect(body.domainEvents.slice(0, 2)).toEqual(['trial.trial.created', 'trial.trial.updated']);
    expect(body.commands).toEqual(['CreateTrial', 'CreateDeliverable', 'CreateConversion']);
  });
  it('singularises -ies plurals', async () => {
    const { body } = await runJson<Model>(
      'domain.model-bounded-context',
      'Model the billing context: invoices, payments or currencies',
    );
    expect(body.context).toBe('billing');
    expect(body.commands).toEqual(['CreateInvoice', 'CreatePayment', 'CreateCurrency']);
  });
  it('needs concepts', async () => {
    await rejects('domain.model-bounded-context', 'Model the trial context:');
  });
});

capability('domain.map-context-relations', () => {
  interface ContextMap {
    contexts: string[];
    relations: { downstream: string; upstream: string; shared: string[]; pattern: string; cycle: boolean }[];
    leakingModels: string[];
  }
  it('classifies given dependencies and finds cycles and leaks', async () => {
    const { result, body } = await runJson<ContextMap>('domain.map-context-relations', {
      request: 'Map our contexts',
      details: {
        dependencies: [
          { from: 'marketplace', to: 'identity' },
          { from: 'billing', to: 'marketplace', sharedModels: ['Trial'] },
          { from: 'marketplace', to: 'billing' },
        ],
      },
    });
    expect(result.summary).toBe('3 contexts, 3 relations');
    expect(body.contexts).toEqual(['marketplace', 'identity', 'billing']);
    expect(body.relations.map((r) => [r.downstream, r.upstream, r.pattern, r.cycle])).toEqual([
      ['marketplace', 'identity', 'conformist', false],
      ['billing', 'marketplace', 'anti-corruption layer (shared models leak)', true],
      ['marketplace', 'billing', 'customer/supplier', true],
    ]);
    expect(body.leakingModels).toEqual(['Trial (marketplace -> billing)']);
  });
  it('chains contexts listed in the request', async () => {
    const { body } = await runJson<ContextMap>(
      'domain.map-context-relations',
      'Map how identity, marketplace and billing depend on each other',
    );
    expect(body.contexts).toEqual(['identity', 'marketplace', 'billing']);
    expect(body.relations).toEqual([
      { downstream: 'marketplace', upstream: 'identity', shared: [], pattern: 'conformist', cycle: false },
      {
        downstream: 'billing',
        upstream: 'marketplace',
        shared: [],
        pattern: 'customer/supplier',
        cycle: false,
      },
    ]);
  });
  it('needs two contexts', async () => {
    await rejects('domain.map-context-relations', 'Map how billing works');
  });
});

capability('domain.check-language', () => {
  interface Language {
    checkedTerms: string[];
    checkedCharacters: number;
    drifts: { found: string; occurrences: number; use: string }[];
    source: string;
  }
  it('counts drifting synonyms of the focus term in details.text', async () => {
    const text =
      'The user can purchase an agent. Purchases are listed, and the bot sends an order confirmation. Orders ship fast.';
    const { result, body } = await runJson<Language>('domain.check-language', {
      request: 'Check this code for drift from "hire"',
      details: { text },
    });
    expect(result.summary).toBe('2 drifting term(s)');
    expect(body).toEqual(
      expect.objectContaining({
        checkedTerms: ['hire'],
        checkedCharacters: text.length,
        source: 'details.text',
        drifts: [
          { found: 'purchase', occurrences: 2, use: 'hire' },
          { found: 'order', occurrences: 2, use: 'hire' },
        ],
      }),
    );
  });
  it('checks the whole glossary when no term is quoted', async () => {
    const { body } = await runJson<Language>('domain.check-language', 'Our client wants a demo of the bot');
    expect(body.checkedTerms).toEqual(['hire', 'subscription', 'agent', 'trial', 'customer', 'deliverable']);
    expect(body.drifts).toEqual([
      { found: 'bot', occurrences: 1, use: 'agent' },
      { found: 'demo', occurrences: 1, use: 'trial' },
      { found: 'client', occurrences: 1, use: 'customer' },
    ]);
    const clean = await runJson<Language>('domain.check-language', 'Hire an agent for the trial');
    expect(clean.result.summary).toBe('no drift found');
  });
});

// ---- integration -------------------------------------------------------------------------------

capability('integration.register-webhook', () => {
  interface Webhook {
    url: string;
    status: string;
    problems: string[];
    events: string[];
    verification: { challenge: string; expectedSignature: string; header: string };
    secretRef: string;
  }
  it('registers an https endpoint for the named events with a signed challenge', async () => {
    const { result, body } = await runJson<Webhook>(
      'integration.register-webhook',
      'Register https://hooks.example.com/waooaw. for trial events',
    );
    const href = 'https://hooks.example.com/waooaw';
    const challenge = hash(href).toString(36);
    const secret = `whsec_${hash(`${href}|${now.toISOString()}`).toString(16)}`;
    expect(result.summary).toBe('hooks.example.com: 3 events, challenge pending');
    expect(body).toEqual(
      expect.objectContaining({
        url: href,
        status: 'pending-verification',
        problems: [],
        events: ['trial.started', 'trial.converted', 'trial.cancelled'],
        verification: {
          challenge,
          expectedSignature: createHmac('sha256', secret).update(challenge).digest('hex'),
          header: 'X-Waooaw-Signature',
        },
        secretRef: `vault:webhooks/${hash(href).toString(16)}`,
      }),
    );
  });
  it('rejects plain http and private hosts, defaulting to every event', async () => {
    const { result, body } = await runJson<Webhook>(
      'integration.register-webhook',
      'Register http://localhost:3000/hook for billing',
    );
    expect(body.status).toBe('rejected');
    expect(body.problems).toEqual(['endpoint must use https', 'private or loopback host is not reachable']);
    expect(result.summary).toBe(
      'rejected: endpoint must use https; private or loopback host is not reachable',
    );
    expect(body.events).toHaveLength(5);
    const lan = await runJson<Webhook>('integration.register-webhook', {
      request: 'Register this endpoint',
      details: { url: 'https://192.168.1.20/hook' },
    });
    expect(lan.body.problems).toEqual(['private or loopback host is not reachable']);
  });
  it('needs a valid URL', async () => {
    await rejects('integration.register-webhook', 'Register a webhook for trials');
    await rejects('integration.register-webhook', 'Register https://hooks.example.com:99999/in');
  });
});

capability('integration.map-api', () => {
  interface ApiMap {
    sourceFields: string[];
    mapping: { target: string; from: string[]; transform: string | null }[];
    unmappedTargetFields: string[];
    unusedSourceFields: string[];
  }
  it('maps Zoho lead fields to the lead contract by default', async () => {
    const { result, body } = await runJson<ApiMap>('integration.map-api', 'Map Zoho leads to our contract');
    expect(result.summary).toBe('6/6 contract fields mapped');
    expect(body.mapping).toEqual([
      { target: 'name', from: ['First_Name', 'Last_Name'], transform: 'join(First_Name, Last_Name, " ")' },
      { target: 'email', from: ['Email'], transform: 'copy' },
      { target: 'phone', from: ['Mobile'], transform: 'copy' },
      { target: 'company', from: ['Company'], transform: 'copy' },
      { target: 'source', from: ['Lead_Source'], transform: 'copy' },
      { target: 'status', from: ['Lead_Status'], transform: 'copy' },
    ]);
    expect(body.unmappedTargetFields).toEqual([]);
    expect(body.unusedSourceFields).toEqual(['Annual_Revenue']);
  });
  it('normalises custom field names and lists the gaps', async () => {
    const { result, body } = await runJson<ApiMap>('integration.map-api', {
      request: 'Map the CRM export',
      details: { sourceFields: ['Full Name', 'E-mail', 'Contact Number', 'Stage'] },
    });
    expect(result.summary).toBe('3/6 contract fields mapped');
    expect(body.mapping.filter((m) => m.from.length).map((m) => [m.target, m.from])).toEqual([
      ['name', ['Full Name']],
      ['phone', ['Contact Number']],
      ['status', ['Stage']],
    ]);
    expect(body.unmappedTargetFields).toEqual(['email', 'company', 'source']);
    expect(body.unusedSourceFields).toEqual(['E-mail']);
  });
});

// ---- security ----------------------------------------------------------------------------------

capability('security.audit-access', () => {
  interface Audit {
    staleAfterDays: number;
    cutoff: string;
    accountsChecked: number;
    findings: { account: string; severity: string; issue: string }[];
    action: string;
  }
  it('flags stale accounts, stale admins and wildcard grants', async () => {
    const { result, body } = await runJson<Audit>('security.audit-access', {
      request: 'Audit access, stale after 30 days',
      details: {
        accounts: [
          { user: 'asha', role: 'admin', lastUsed: '2025-11-01T00:00:00Z', grants: ['billing:read'] },
          { user: 'ravi', role: 'viewer', lastUsed: '2025-12-01T00:00:00Z' },
          { user: 'meena', role: 'editor', lastUsed: '2026-01-04T00:00:00Z', grants: ['*'] },
          { user: 'dev', role: 'owner', lastUsed: '2026-01-01T00:00:00Z' },
          { user: 'ghost', role: 'viewer' },
        ],
      },
    });
    expect(result.summary).toBe('4 finding(s) at 30-day staleness');
    expect(body).toMatchObject({
      staleAfterDays: 30,
      cutoff: '2025-12-06T09:00:00.000Z',
      accountsChecked: 5,
    });
    expect(body.findings).toEqual([
      { account: 'asha', severity: 'high', issue: 'admin rights unused for 30+ days' },
      { account: 'ravi', severity: 'medium', issue: 'no use in 30 days' },
      { account: 'meena', severity: 'high', issue: 'wildcard grant' },
      { account: 'ghost', severity: 'medium', issue: 'no use in 30 days' },
    ]);
    expect(body.action).toBe('revoke or downgrade the listed accounts');
  });
  it('defaults to 90 days', async () => {
    const { body } = await runJson<Audit>('security.audit-access', {
      request: 'Audit access',
      details: { accounts: [{ user: 'ravi', role: 'viewer', lastUsed: '2025-12-01T00:00:00Z' }] },
    });
    expect(body.cutoff).toBe('2025-10-07T09:00:00.000Z');
    expect(body.findings).toEqual([]);
  });
  it('rejects malformed accounts', async () => {
    await rejects('security.audit-access', { request: 'Audit access', details: { accounts: 'asha' } });
  });
});

capability('security.scan-secrets', () => {
  interface Scan {
    linesScanned: number;
    findings: { line: number; rule: string; severity: string; remediation: string }[];
    worstSeverity: string;
    blockMerge: boolean;
  }
  it('finds each rule on its line', async () => {
    const content = [
      'version: "3"',
      'services:',
      '  api:',
      '    privileged: true',
      '    ports: ["0.0.0.0:8080:8080"]',
      '    environment:',
      '      DB_PASSWORD: hunter2secret',
      '      AWS_KEY: AKIAABCDEFGHIJKLMNOP',
      '      CALLBACK: http://api.example.com/cb',
      '      LOCAL: http://localhost:3000',
      '      DEBUG: "true"',
      '      TOKEN: ${API_TOKEN}',
    ].join('\n');
    const { result, body } = await runJson<Scan>('security.scan-secrets', {
      request: 'Scan this compose file',
      details: { content },
    });
    expect(result.summary).toBe('6 finding(s), worst critical');
    expect(body.linesScanned).toBe(12);
    expect(body.findings.map((f) => [f.line, f.rule, f.severity])).toEqual([
      [4, 'privileged-container', 'high'],
      [5, 'public-bind', 'medium'],
      [7, 'password-literal', 'high'],
      [8, 'aws-access-key', 'critical'],
      [9, 'plain-http', 'medium'],
      [11, 'debug-enabled', 'medium'],
    ]);
    expect(body).toMatchObject({ worstSeverity: 'critical', blockMerge: true });
  });
  it('passes clean text and lets medium findings through', async () => {
    const clean = await runJson<Scan>('security.scan-secrets', {
      request: 'Scan',
      details: { diff: 'image: node:22\nports: ["127.0.0.1:3000:3000"]' },
    });
    expect(clean.result.summary).toBe('0 finding(s), worst none');
    expect(clean.body.blockMerge).toBe(false);
    const medium = await runJson<Scan>('security.scan-secrets', 'Scan DEBUG=1');
    expect(medium.body).toMatchObject({ worstSeverity: 'medium', blockMerge: false, linesScanned: 1 });
  });
});
