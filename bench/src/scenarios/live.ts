import { readFileSync } from 'node:fs';
import type { Client } from 'graphql-ws';
import { METRICS_PORT_OFFSET } from '@waooaw/infra';
import { subscriptionFeeds } from '@waooaw/shared';
import { envelopeOf, readTopics, topicEnds } from '../chaos/topics';
import type { BenchContext } from '../context';
import { devToken, gatewayClient, START_TRIAL } from '../graphql';
import type { ClientCount, LiveClientPlan, Receipt, TruthEvent } from '../live';
import type { HistogramReading } from '../prom-text';
import { histogramIncrease, histogramQuantile, readHistogram, sumSamples } from '../prom-text';
import {
  countClient,
  eventKey,
  expectedKeys,
  indexTruth,
  LIVE_FEEDS,
  LIVE_QUERIES,
  openFilesLimit,
  openFilesProblem,
  planLiveClients,
  truthEvent,
} from '../live';
import { constantRate } from '../pacing';
import { readProcess, ticksPerSecond } from '../proc';
import type { LiveFigures, Percentiles, ScenarioResult } from '../report';
import { scenarioResult, skippedResult } from '../report';
import { round, summarize } from '../stats';
import { errorCodeOf, gatewaySocket, wsUrlOf } from '../ws';
import { runLoad } from './load';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

/** Handshakes in flight at once: enough to connect 10,000 in well under a minute, few enough not to stampede the gateway. */
const CONNECT_CONCURRENCY = 100;
/** A client not acknowledged by then counts as failed to connect. */
const CONNECT_TIMEOUT_MS = 30_000;
const REQUEST_COUNTER = 'waooaw_http_request_duration_seconds_count';

const LIFECYCLE_AGENTS = `query($n: Int) { agents(filter: { kind: PLATFORM, status: ACTIVE }, first: $n) { edges { node { id } } } }`;
const TRANSITION = `mutation($id: ID!, $to: LifecycleStatus!, $reason: String!) { transitionAgentLifecycle(id: $id, to: $to, reason: $reason) { id } }`;
const LISTING_IDS = `query { listings(first: 20) { edges { node { id } } } }`;

/** The soft open-files limit of a process, or null when /proc cannot say. */
function openFilesOf(pid: number | 'self'): number | null {
  try {
    return openFilesLimit(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  } catch {
    return null;
  }
}

/** Why a process cannot hold `clients` sockets, or null (the CLI checks the bench before the platform starts). */
export const openFilesShortage = (clients: number, pid: number | 'self' = 'self', who = 'the bench') =>
  openFilesProblem(who, openFilesOf(pid), clients);

/** One graphql-ws client: its socket, its one subscription, what it received and how it ended. */
function liveClient(wsUrl: string, token: string, plan: LiveClientPlan, errors: Map<string, number>) {
  const receipts: Receipt[] = [];
  let stopping = false;
  let closeCode: number | null = null;
  const started = performance.now();
  let client: Client | undefined;
  const connected = new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), CONNECT_TIMEOUT_MS);
    client = gatewaySocket(wsUrl, token, {
      on: {
        connected: () => {
          clearTimeout(timer);
          resolve(performance.now() - started);
        },
        closed: (event: unknown) => {
          clearTimeout(timer);
          resolve(null);
          if (!stopping) closeCode = (event as { code?: number }).code ?? 0;
        },
      },
    });
  });
  const subscribe = () =>
    client!.subscribe<Record<string, Record<string, unknown> | null>>(
      { query: LIVE_QUERIES[plan.feed], variables: plan.variables },
      {
        next: (result) => {
          const at = Date.now();
          for (const e of result.errors ?? []) bump(errors, errorCodeOf(e));
          const payload = result.data?.[plan.feed];
          if (payload) receipts.push({ key: eventKey(plan.feed, payload), at });
        },
        error: (err: unknown) => {
          // A refused subscribe comes as GraphQL errors; a closed socket as its close event (counted apart).
          if (Array.isArray(err))
            for (const e of err as { message?: unknown }[]) bump(errors, errorCodeOf(e));
        },
        complete: () => undefined,
      },
    );
  return {
    plan,
    receipts,
    connected,
    subscribe,
    closeCode: () => closeCode,
    async stop() {
      stopping = true;
      await client?.dispose();
    },
  };
}
type LiveClient = ReturnType<typeof liveClient>;

const percentiles = (values: readonly number[]): Percentiles => {
  const s = summarize(values);
  return { count: s.count, p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max) };
};

const EVENT_AGE = 'waooaw_subscription_event_age_seconds';

/**
 * What the services' Prometheus endpoints say now, each read once: every service's /graphql request
 * count (null: unreachable), and the gateway's event-age histogram (gateway/src/subscriptions/feed.ts;
 * null if unreadable).
 */
async function serviceReadings(ctx: BenchContext): Promise<{
  requests: Map<string, number | null>;
  eventAge: HistogramReading | null;
}> {
  const requests = new Map<string, number | null>();
  let eventAge: HistogramReading | null = null;
  await Promise.all(
    ctx.platform.services
      .filter((s) => s.graphql)
      .map(async (s) => {
        try {
          const res = await fetch(`http://127.0.0.1:${s.port + METRICS_PORT_OFFSET}/metrics`, {
            signal: AbortSignal.timeout(5000),
          });
          const text = await res.text();
          requests.set(s.name, sumSamples(text, REQUEST_COUNTER, { route: 'graphql' }));
          if (s.name === 'gateway' && res.ok) eventAge = readHistogram(text, EVENT_AGE);
        } catch {
          requests.set(s.name, null);
        }
      }),
  );
  return { requests, eventAge };
}

/** The window's event ages at the gateway, in ms: mean, and p50/p99 as fine as the histogram's buckets. */
function eventAgeFigures(
  before: HistogramReading | null,
  after: HistogramReading | null,
): LiveFigures['gatewayEventAgeMs'] {
  if (!before || !after) return null;
  const window = histogramIncrease(before, after);
  const ms = (s: number | null) => (s === null ? null : Math.round(s * 1000));
  return {
    count: window.count,
    mean: window.count > 0 ? ms(window.sum / window.count) : null,
    p50: ms(histogramQuantile(window, 0.5)),
    p99: ms(histogramQuantile(window, 0.99)),
  };
}

/**
 * N graphql-ws clients of the gateway (each its own caller) spread over activityFeed,
 * agentHealthChanged, agentLifecycleChanged and their own taskUpdated, listening while the steady
 * load runs (its Kafka tasks are the task subscribers' customers'), trials are started (activity)
 * and platform agents are suspended and reactivated (lifecycle), and while one runtime fails every
 * attempt for a third of the run (health). See bench/README.md for what it reports.
 */
export async function live(ctx: BenchContext): Promise<ScenarioResult> {
  const { liveClients: n, liveRate: rate, durationS, agents, quick } = ctx.options;
  const gatewayPid = ctx.processes().find((p) => p.name === 'gateway')?.pid;
  const shortage =
    openFilesShortage(n) ?? (gatewayPid ? openFilesShortage(n, gatewayPid, 'the gateway') : null);
  if (shortage) {
    ctx.log(`[bench] live: cannot run: ${shortage}`);
    return skippedResult('live', agents, shortage);
  }
  const wsUrl = wsUrlOf(ctx.platform.gatewayUrl);
  const bus = ctx.kafka.bus;
  const topicOf = new Map(LIVE_FEEDS.map((f) => [bus.topic(subscriptionFeeds[f]!.event.topic), f] as const));
  const topics = [...topicOf.keys()];

  const agentsAnswer = await ctx.operator<{ agents: { edges: { node: { id: string } }[] } }>(
    LIFECYCLE_AGENTS,
    {
      n: quick ? 2 : 4,
    },
  );
  const lifecycleAgents = agentsAnswer.data?.agents.edges.map((e) => e.node.id) ?? [];
  const listingsAnswer = await ctx.operator<{ listings: { edges: { node: { id: string } }[] } }>(LISTING_IDS);
  const listings = listingsAnswer.data?.listings.edges.map((e) => e.node.id) ?? [];
  const plans = planLiveClients(n, ctx.runId, lifecycleAgents);
  const taskCustomers = plans.filter((p) => p.feed === 'taskUpdated' && p.roles.includes('customer'));
  const activityCustomers = plans.filter((p) => p.feed === 'activityFeed');
  ctx.log(
    `[bench] live: ${n} clients (${LIVE_FEEDS.map((f) => `${f} ${plans.filter((p) => p.feed === f).length}`).join(', ')}); lifecycle of ${lifecycleAgents.length} platform agents, trials of ${listings.length} listings`,
  );

  // Tokens first, so that signing them is not part of the connect time.
  const tokens: string[] = [];
  for (let i = 0; i < plans.length; i += 500)
    tokens.push(...(await Promise.all(plans.slice(i, i + 500).map((p) => devToken(p.sub, p.roles)))));

  // Connect at a bounded concurrency: each handshake verifies a token and registers a socket.
  const gateway = () => (gatewayPid ? { at: performance.now(), ...readProcess(gatewayPid) } : null);
  const gwBefore = gateway();
  const errors = new Map<string, number>();
  const clients: LiveClient[] = [];
  const connectMs: number[] = [];
  let failedToConnect = 0;
  const connectStart = performance.now();
  let next = 0;
  const connector = async () => {
    while (next < plans.length) {
      const i = next++;
      const c = liveClient(wsUrl, tokens[i]!, plans[i]!, errors);
      clients.push(c);
      const took = await c.connected;
      if (took === null) failedToConnect++;
      else {
        connectMs.push(took);
        c.subscribe();
      }
      if (clients.length % 100 === 0)
        ctx.progress.update(
          clients.length / n,
          `live: connecting ${clients.length}/${n}, ${failedToConnect} failed`,
        );
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, n) }, connector));
  const connectTotalS = (performance.now() - connectStart) / 1000;
  ctx.progress.done();
  // graphql-ws acknowledges no subscribe: give the gateway a moment to register the last ones.
  await sleep(Math.min(15_000, 3000 + n));
  const gwConnected = gateway();
  ctx.log(
    `[bench] live: ${connectMs.length} of ${n} connected in ${connectTotalS.toFixed(1)} s (${failedToConnect} failed); the load starts`,
  );

  // The window: events published from here until the load has drained are owed to the clients.
  const start = await topicEnds(bus.kafka, topics);
  const { requests: requestsBefore, eventAge: ageBefore } = await serviceReadings(ctx);
  const windowStart = performance.now();
  const durationMs = durationS * 1000;
  const side = new Set<Promise<unknown>>();
  const sideCounts = new Map<string, number>();
  const track = (what: string, p: Promise<{ data?: unknown; errors?: unknown[] }>) => {
    const q = p.then(
      (r) => bump(sideCounts, r.data && !r.errors?.length ? `${what} ok` : `${what} refused`),
      () => bump(sideCounts, `${what} failed`),
    );
    side.add(q);
    void q.finally(() => side.delete(q));
  };
  const hooks: { atMs: number; run: () => void }[] = [];
  // Lifecycle: every agent suspended and reactivated, an even number of times (each ends ACTIVE).
  const transitions = Math.max(2, 2 * Math.floor(durationS / 10));
  for (let k = 0; k < transitions; k++)
    hooks.push({
      atMs: ((k + 1) * durationMs) / (transitions + 1),
      run: () => {
        for (const id of lifecycleAgents)
          track(
            'transition',
            ctx.operator(TRANSITION, {
              id,
              to: k % 2 === 0 ? 'SUSPENDED' : 'ACTIVE',
              reason: 'bench live scenario',
            }),
          );
      },
    });
  // Activity: a trial a second, each by the next activity subscriber (one trial per customer).
  if (listings.length > 0)
    for (let k = 0; k < Math.min(durationS, activityCustomers.length); k++)
      hooks.push({
        atMs: k * 1000 + 500,
        run: () => {
          const customer = activityCustomers[k]!;
          track(
            'trial',
            devToken(customer.sub, customer.roles).then((token) =>
              gatewayClient(ctx.platform.gatewayUrl, token)(START_TRIAL, {
                input: {
                  agentId: listings[k % listings.length],
                  businessContext: { businessName: `Live ${k}` },
                },
              }),
            ),
          );
        },
      });
  // Health: one runtime fails every attempt for the middle third (its instances degrade, then recover).
  const errorsRuntime = ctx.fleet.find((f) => f.plan.role === 'errors');
  if (errorsRuntime)
    for (const at of [durationMs / 3, (2 * durationMs) / 3])
      hooks.push({ atMs: at, run: () => errorsRuntime.toggleErrors() });

  const run = await runLoad(ctx, 'live', constantRate(rate, durationMs), {
    hooks,
    // Every Kafka task works for a task subscriber, in turn, so each hears its own tasks' updates.
    customerOf: taskCustomers.length > 0 ? (i) => taskCustomers[i % taskCustomers.length]!.sub : undefined,
  });
  await Promise.all(side);
  // A transition that timed out may have left an agent suspended: make sure each ends ACTIVE (an
  // agent that is ACTIVE already refuses the move, which is fine).
  for (const id of lifecycleAgents)
    await ctx
      .operator(TRANSITION, { id, to: 'ACTIVE', reason: 'bench live scenario: restore' })
      .catch(() => null);
  // Trailing events of the last transitions and of the recovered runtime.
  await sleep(3000);
  const end = await topicEnds(bus.kafka, topics);
  const windowS = (performance.now() - windowStart) / 1000;

  /**
   * The expected deliveries come from the Kafka topics, not from what the bench did: every message
   * the four feeds' topics received in the window (whoever caused it: the load, a trial's task, a
   * heartbeat's health change) is owed to each client whose filter and access (shared's
   * subscriptionFeeds, evaluated in live.ts) admit it. Latency is measured from the message's Kafka
   * timestamp (when the event was published, what the gateway can first see) to its receipt.
   */
  const readTruth = async (): Promise<TruthEvent[]> =>
    (await readTopics(bus.kafka, topics, { from: start })).flatMap((m) => {
      const feed = topicOf.get(m.topic);
      const e = envelopeOf(m.value);
      if (!feed || !e) return [];
      return [truthEvent(feed, e.data, m.timestamp, m.offset < (end.get(m.topic)?.[m.partition] ?? 0))];
    });
  let truth = indexTruth(await readTruth());
  const expected = clients.map((c) => expectedKeys(c.plan, truth));
  const owed = expected.reduce((a, s) => a + s.size, 0);
  const countAll = () => clients.map((c, i) => countClient(c.plan, expected[i]!, truth, c.receipts));
  const catchUpS = quick ? 20 : 60;
  const catchUpEnd = Date.now() + catchUpS * 1000;
  let last = -1;
  let lastProgress = Date.now();
  for (;;) {
    const delivered = countAll().reduce((a, c) => a + c.delivered, 0);
    ctx.progress.update(owed ? delivered / owed : 1, `live: ${delivered}/${owed} owed events delivered`);
    if (delivered >= owed || Date.now() > catchUpEnd || Date.now() - lastProgress > 10_000) break;
    if (delivered !== last) lastProgress = Date.now();
    last = delivered;
    await sleep(1000);
  }
  ctx.progress.done();
  const { requests: requestsAfter, eventAge: ageAfter } = await serviceReadings(ctx);
  const gwEnd = gateway();
  const closeCodes = new Map<string, number>();
  for (const c of clients) {
    const code = c.closeCode();
    if (code !== null) bump(closeCodes, String(code));
  }
  for (let i = 0; i < clients.length; i += 1000)
    await Promise.all(clients.slice(i, i + 1000).map((c) => c.stop()));

  // Read again: receipts of events published after the first read are then known (after the window).
  truth = indexTruth(await readTruth());
  const counts: ClientCount[] = countAll();
  const sum = (f: (c: ClientCount) => number) => counts.reduce((a, c) => a + f(c), 0);
  const byFeed: LiveFigures['byFeed'] = {};
  for (const feed of LIVE_FEEDS) {
    const of = clients.map((c, i) => [c, counts[i]!] as const).filter(([c]) => c.plan.feed === feed);
    byFeed[feed] = {
      clients: of.length,
      events: truth.windowByFeed.get(feed)!.length,
      expected: of.reduce((a, [, c]) => a + c.expected, 0),
      delivered: of.reduce((a, [, c]) => a + c.delivered, 0),
      latencyMs: percentiles(of.flatMap(([, c]) => c.fromKafkaMs)),
    };
  }
  const withAudience = new Set<string>();
  expected.forEach((keys, i) => keys.forEach((k) => withAudience.add(`${clients[i]!.plan.feed}:${k}`)));
  const bySubgraph: Record<string, number> = {};
  let subgraphTotal: number | null = 0;
  for (const [name, after] of requestsAfter) {
    if (name === 'gateway') continue;
    const before = requestsBefore.get(name);
    if (after === null || before === null || before === undefined) subgraphTotal = null;
    else {
      bySubgraph[name] = after - before;
      if (subgraphTotal !== null) subgraphTotal += after - before;
    }
  }
  const gwAfter = requestsAfter.get('gateway');
  const gwBeforeCount = requestsBefore.get('gateway');
  const clientRequests = gwAfter != null && gwBeforeCount != null ? gwAfter - gwBeforeCount : null;
  const hz = ticksPerSecond();
  /** Gateway CPU ms between two readings (per second of the interval when `perS`). */
  const cpuMs = (a: typeof gwBefore, b: typeof gwBefore, perS = false) =>
    a?.ticks !== undefined && b?.ticks !== undefined
      ? (((b.ticks - a.ticks) / hz) * 1000) / (perS ? (b.at - a.at) / 1000 : 1)
      : null;
  const per1000 = (v: number | null) =>
    v === null || connectMs.length === 0 ? null : round(v / (connectMs.length / 1000));
  const mb = (kb: number | null | undefined) =>
    kb === null || kb === undefined ? null : Math.round(kb / 1024);
  const figures: LiveFigures = {
    clients: n,
    byFeed,
    connectMs: {
      ...percentiles(connectMs),
      totalS: round(connectTotalS) ?? connectTotalS,
      failed: failedToConnect,
    },
    expected: sum((c) => c.expected),
    delivered: sum((c) => c.delivered),
    deliveredShare:
      owed > 0 ? Math.round((sum((c) => c.delivered) / sum((c) => c.expected)) * 10_000) / 10_000 : 1,
    missed: sum((c) => c.missed),
    missedBeforeFirst: sum((c) => c.missedBeforeFirst),
    duplicates: sum((c) => c.duplicates),
    foreign: sum((c) => c.foreign),
    unmatched: sum((c) => c.unmatched),
    errors: Object.fromEntries(errors),
    closeCodes: Object.fromEntries(closeCodes),
    latencyMs: percentiles(counts.flatMap((c) => c.fromKafkaMs)),
    eventTimeLatencyMs: percentiles(counts.flatMap((c) => c.fromEventMs)),
    gatewayEventAgeMs: eventAgeFigures(ageBefore, ageAfter),
    subgraphRequests: {
      bySubgraph,
      clientRequests: clientRequests ?? 0,
      eventsWithAudience: withAudience.size,
      perEvent:
        subgraphTotal !== null && clientRequests !== null && withAudience.size > 0
          ? round((subgraphTotal - clientRequests) / withAudience.size)
          : null,
      perDelivery:
        subgraphTotal !== null && clientRequests !== null && sum((c) => c.delivered) > 0
          ? round((subgraphTotal - clientRequests) / sum((c) => c.delivered))
          : null,
    },
    gateway: {
      rssBeforeMb: mb(gwBefore?.rssKb),
      rssConnectedMb: mb(gwConnected?.rssKb),
      rssEndMb: mb(gwEnd?.rssKb),
      rssMbPer1000:
        gwBefore?.rssKb != null && gwConnected?.rssKb != null
          ? per1000((gwConnected.rssKb - gwBefore.rssKb) / 1024)
          : null,
      connectCpuMsPer1000: per1000(cpuMs(gwBefore, gwConnected)),
      cpuMsPerSPer1000: per1000(cpuMs(gwConnected, gwEnd, true)),
    },
  };
  const result = scenarioResult('live', run.measurement, {
    agents,
    offeredPerS: rate,
    durationS: round(run.offeredS) ?? durationS,
    processes: run.processes,
    costs: run.costs,
    details: {
      pendingAfterDrain: run.pendingAfterDrain,
      windowS: round(windowS),
      sideEffects: Object.fromEntries(sideCounts),
      lifecycleAgents,
      note: "live: expected deliveries are read from the feeds' Kafka topics over the window; latency is receipt minus the Kafka timestamp; subgraph requests per event subtract the gateway's own HTTP /graphql requests (the bench's mutations) from the subgraphs' increase",
    },
  });
  return { ...result, live: figures };
}
