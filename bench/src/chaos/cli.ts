import { appendFileSync, copyFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { marketplaceEvents, orchestrationEvents, supportEvents } from '@waooaw/shared';
import { parseBenchArgs } from '../args';
import type { BenchContext } from '../context';
import { devToken, gatewayClient, operatorToken, START_TRIAL } from '../graphql';
import { createBenchKafka } from '../kafka';
import { constantRate, untilStopped } from '../pacing';
import { createProgress } from '../progress';
import { runLoad } from '../scenarios/load';
import { TaskTracker } from '../tracker';
import type { ChaosOptions, Fault } from './args';
import { faultName, parseChaosArgs, USAGE } from './args';
import type { TopicMessage } from './counting';
import {
  compareStream,
  countByWindow,
  countEffectDuplicates,
  countTasks,
  faultWindows,
  recoveredAt,
  TaskLedger,
  windowIndex,
} from './counting';
import { chaosPlatform } from './platform';
import type { ChaosPlatform } from './platform';
import type { ChaosFaultResult, ChaosReport } from './report';
import { chaosTable } from './report';
import type { FeedSubscriber } from './subscribers';
import { feedSubscriber } from './subscribers';
import { dlqTopics, envelopeOf, feedLedger, liveLedger, readTopics } from './topics';
import { runCli } from '../run-cli';
import { startRun } from '../run';

const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The bench's tracker, also noting wall-clock times (fault windows are wall-clock, like Kafka's). */
class ChaosTracker extends TaskTracker {
  readonly acceptedAt = new Map<string, number>();
  readonly submittedAt = new Map<string, number>();
  refusedCount = 0;
  override submitted(id: string, scenario: string, via: 'kafka' | 'graphql', at: number, step = 0): void {
    super.submitted(id, scenario, via, at, step);
    this.submittedAt.set(id, Date.now());
  }
  override accepted(id: string, provisional?: string): void {
    super.accepted(id, provisional);
    const at = Date.now();
    if (provisional && provisional !== id) {
      this.submittedAt.set(id, this.submittedAt.get(provisional) ?? at);
      this.submittedAt.delete(provisional);
    }
    this.acceptedAt.set(id, at);
  }
  override refused(id: string): void {
    super.refused(id);
    this.refusedCount++;
  }
}

const LISTINGS = `query { listings(first: 50) { edges { node { id plans { id } } } } }`;
const CONVERT = `mutation($t: ID!, $p: ID!) { convertTrial(trialId: $t, plan: $p) { id } }`;
const OPEN_TICKET = `mutation($input: OpenTicketInput!) { openTicket(input: $input) { id } }`;

/**
 * Trials, conversions and support tickets beside the task load, each request made once (never
 * retried, so two records of one request are the platform's doing): every `everyS` a new customer
 * starts a trial of the next listed agent, converts it a few seconds later, and opens a ticket.
 */
function businessLoad(
  url: string,
  runId: string,
  everyS: number,
  listings: { id: string; plan: string | null }[],
) {
  const requestedAt = {
    trials: new Map<string, number>(),
    conversions: new Map<string, number>(),
    tickets: new Map<string, number>(),
  };
  const counts = { trialsStarted: 0, conversions: 0, tickets: 0, refused: 0 };
  let stopped = false;
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const one = async (n: number) => {
    const customer = `chaos-${runId}-cust-${n}`;
    const post = gatewayClient(url, await devToken(customer, ['customer']));
    const listing = listings[n % listings.length]!;
    requestedAt.trials.set(customer, Date.now());
    const trial = await post<{ startTrial: { id: string } }>(START_TRIAL, {
      input: {
        agentId: listing.id,
        businessContext: { businessName: `Chaos customer ${n}`, industry: 'retail', city: 'Pune' },
      },
    }).catch(() => null);
    const trialId = trial?.data?.startTrial?.id;
    if (trialId) counts.trialsStarted++;
    else counts.refused++;
    requestedAt.tickets.set(customer, Date.now());
    const ticket = await post(OPEN_TICKET, {
      input: {
        subject: `Chaos ticket ${n}`,
        description: `Opened by the chaos run ${runId}`,
        agentId: listing.id,
      },
    }).catch(() => null);
    if (ticket?.data) counts.tickets++;
    else counts.refused++;
    if (!trialId || !listing.plan) return;
    await sleep(5000);
    requestedAt.conversions.set(trialId, Date.now());
    const converted = await post(CONVERT, { t: trialId, p: listing.plan }).catch(() => null);
    if (converted?.data) counts.conversions++;
    else counts.refused++;
  };
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      track(one(n).catch(() => void counts.refused++));
      await sleep(everyS * 1000);
    }
  })();
  return {
    requestedAt,
    counts,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(pending);
    },
  };
}

interface Injection {
  fault: Fault;
  name: string;
  injectedAt: number;
  actionDone: number;
  recoveredAt: number | null;
}

async function inject(platform: ChaosPlatform, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'kill':
      return platform.killAndRestart(fault.service);
    case 'kill-kafka':
      await platform.killKafka();
      return platform.restartInfra();
    case 'kill-mongo':
      await platform.killMongo();
      return platform.restartInfra();
    case 'freeze-mongo':
      return platform.freezeMongo(fault.seconds * 1000);
    case 'rolling':
      return platform.rollingRestart(fault.service);
  }
}

const argv = process.argv.slice(2);

async function main(options: ChaosOptions): Promise<number> {
  const { startedAt, runId, outDir, cleanups, stopAll, interrupted } = startRun({
    outDir: options.outDir,
    tag: 'chaos',
    log,
  });
  const logFile = path.join(outDir, `chaos-${runId}.log`);
  const out = (line: string) => appendFileSync(logFile, `${line}\n`);
  log(
    `[chaos] run ${runId}${options.quick ? ' (quick)' : ''}: ${options.rate} tasks/s, ${options.subscribers} subscribers, ${options.faults.length} faults; output of the services: ${path.relative(process.cwd(), logFile)}`,
  );

  const platform = chaosPlatform({
    stateDir: path.join(os.tmpdir(), `waooaw-chaos-${runId}`),
    kafkaPort: options.kafkaPort,
    controllerPort: options.kafkaPort + 1,
    mongoPort: options.mongoPort,
    portOffset: options.portOffset,
    spareOffset: 100,
    log,
    out,
  });
  try {
    cleanups.push(() => platform.stop());
    const began = Date.now();
    await platform.startInfra();
    log(`[chaos] kafka ${platform.brokers.join(',')} and ${platform.mongoUrl} up; starting the services`);
    await platform.startServices();
    log(
      `[chaos] platform ready in ${((Date.now() - began) / 1000).toFixed(1)} s (gateway ${platform.gatewayUrl})`,
    );

    // Completions as they are consumed: what recovery waits for.
    const completions: { submittedAt: number; completedAt: number }[] = [];
    const tracker = new ChaosTracker();
    const kafka = await createBenchKafka({ brokers: platform.brokers, namespace: '' }, runId, {
      onTaskUpdated: (id, update, at) => {
        tracker.onTaskUpdated(id, update, at);
        if (update.status === 'COMPLETED') {
          const submittedAt = tracker.submittedAt.get(update.taskId);
          if (submittedAt !== undefined) completions.push({ submittedAt, completedAt: Date.now() });
        }
      },
      onAttemptFinished: (id, attempt) => tracker.onAttemptFinished(id, attempt),
    });
    cleanups.push(() => kafka.close());
    const live = await liveLedger(kafka.bus.kafka, runId);
    cleanups.push(() => live.close());

    const operator = gatewayClient(platform.gatewayUrl, await operatorToken());
    const progress = createProgress();
    const benchOptions = { ...parseBenchArgs([]), rate: options.rate, drainS: 0, graphqlShare: 0.05 };
    const ctx: BenchContext = {
      options: benchOptions,
      runId,
      platform: {
        brokers: platform.brokers,
        mongoUrl: platform.mongoUrl,
        namespace: '',
        gatewayUrl: platform.gatewayUrl,
        services: platform.services,
        startedServices: true,
        processes: () => platform.pids(),
        stop: async () => undefined,
      },
      kafka,
      tracker,
      operator,
      visitor: gatewayClient(platform.gatewayUrl, null),
      fleet: [],
      tierOf: () => undefined,
      breakerTrips: () => new Map(),
      processes: () => platform.pids(),
      progress,
      log: (line) => {
        progress.done();
        log(line);
      },
      waitFleetHealthy: async () => undefined,
    };

    // The agents are listed once the runtime has registered them; the load needs them routable.
    const listings = await (async () => {
      const deadline = Date.now() + 180_000;
      for (;;) {
        const res = await operator<{
          listings: { edges: { node: { id: string; plans: { id: string }[] } }[] };
        }>(LISTINGS).catch(() => null);
        const found =
          res?.data?.listings.edges.map((e) => ({ id: e.node.id, plan: e.node.plans[0]?.id ?? null })) ?? [];
        if (found.length > 0) return found;
        if (Date.now() > deadline)
          throw new Error('no agent was listed within 180 s: see the services output');
        await sleep(1000);
      }
    })();
    log(`[chaos] ${listings.length} listed agents; warming up`);
    const warm = await runLoad(ctx, 'warmup', constantRate(Math.max(1, options.rate / 2), 10_000), {
      sample: false,
      drainMs: 60_000,
    });
    log(
      `[chaos] warm-up: ${warm.measurement.completed} of ${warm.measurement.submitted} tasks completed (not counted)`,
    );

    // Subscribers first (each must have its first event, which fixes where its stream starts).
    const subscribers: FeedSubscriber[] = [];
    for (let i = 0; i < options.subscribers; i++)
      subscribers.push(
        feedSubscriber(platform.wsUrl, await devToken(`chaos-${runId}-watcher-${i}`, ['customer'])),
      );
    cleanups.push(async () => void (await Promise.all(subscribers.map((s) => s.stop()))));
    const business = businessLoad(platform.gatewayUrl, runId, options.businessEveryS, listings);
    cleanups.push(() => business.stop());
    {
      const deadline = Date.now() + 60_000;
      while (subscribers.some((s) => s.received.length === 0) && Date.now() < deadline) await sleep(250);
      const waiting = subscribers.filter((s) => s.received.length === 0).length;
      if (waiting)
        log(
          `[chaos] attention: ${waiting} subscribers have no first event yet; their streams are not compared`,
        );
    }

    // The load, and the faults one after another while it runs.
    const loadStart = Date.now();
    const loadStartPerf = performance.now();
    const profile = untilStopped(options.rate, 1_000);
    const load = runLoad(ctx, 'chaos', profile, { drainMs: 0 });
    log(`[chaos] load ${options.rate} tasks/s; baseline ${options.baselineS} s`);
    await sleep(options.baselineS * 1000);
    const injections: Injection[] = [];
    const readyChecks: { at: number; allReady: boolean }[] = [];
    for (const fault of options.faults) {
      if (interrupted()) break;
      const name = faultName(fault);
      const injectedAt = Date.now();
      ctx.log(`[chaos] ${new Date(injectedAt).toISOString().slice(11, 19)} inject: ${name}`);
      await inject(platform, fault).catch((err: unknown) =>
        ctx.log(`[chaos] ${name} failed: ${(err as Error).message}`),
      );
      const actionDone = Date.now();
      const injection: Injection = { fault, name, injectedAt, actionDone, recoveredAt: null };
      injections.push(injection);
      const deadline = injectedAt + options.recoverTimeoutS * 1000;
      while (Date.now() < deadline && !interrupted()) {
        const at = Date.now();
        readyChecks.push({ at, allReady: await platform.allReady() });
        injection.recoveredAt = recoveredAt(injectedAt, actionDone, readyChecks, completions);
        if (injection.recoveredAt !== null) break;
        progress.update(
          0,
          `${name}: waiting for recovery, ${((Date.now() - injectedAt) / 1000).toFixed(0)} s`,
        );
        await sleep(500);
      }
      progress.done();
      ctx.log(
        injection.recoveredAt === null
          ? `[chaos] ${name}: not recovered within ${options.recoverTimeoutS} s`
          : `[chaos] ${name}: recovered in ${((injection.recoveredAt - injectedAt) / 1000).toFixed(1)} s`,
      );
      await sleep(options.settleS * 1000);
    }
    profile.stop(performance.now() - loadStartPerf);
    await business.stop();
    const loaded = await load;
    const loadEnd = Date.now();
    log(`[chaos] load stopped after ${loaded.offeredS.toFixed(0)} s; draining`);

    // Drain: every accepted task final (the live ledger resumes across broker restarts).
    // The warm-up's tasks were all answered before the load began (runLoad waits for its sends).
    const accepted = [...tracker.acceptedAt].filter(([, at]) => at >= loadStart);
    const drainDeadline = Date.now() + options.drainS * 1000;
    let pending = accepted.filter(([id]) => live.ledger.finalStatus(id) === null).length;
    while (pending > 0 && Date.now() < drainDeadline && !interrupted()) {
      progress.update(1, `draining: ${pending} tasks still without a final status`);
      await sleep(1000);
      pending = accepted.filter(([id]) => live.ledger.finalStatus(id) === null).length;
    }
    progress.done();
    // Subscribers: until each has caught up with the feed's topic (or 30 s). The topic's end is read
    // again on every check: the platform may still publish (an activity for a task finished in the
    // drain, a trial's late event), and a subscriber stopped before such an event owes it nothing.
    // What each owes is fixed at the end it was last checked against (`owed`), so an event published
    // after the check is neither missed nor expected.
    const activityTopic = marketplaceEvents.activityCreated.topic;
    const admin = kafka.bus.kafka.admin();
    await admin.connect();
    const topicEnd = async () => {
      const end: number[] = [];
      for (const o of await admin.fetchTopicOffsets(activityTopic)) end[o.partition] = Number(o.high);
      for (let p = 0; p < end.length; p++) end[p] ??= 0;
      return end;
    };
    const caughtUp = (s: FeedSubscriber, end: readonly number[]) => {
      const pos = s.position();
      return pos === null || end.every((high, p) => (pos[p] ?? 0) >= high);
    };
    const subDeadline = Date.now() + 30_000;
    let owed = await topicEnd();
    while (!subscribers.every((s) => caughtUp(s, owed)) && Date.now() < subDeadline) {
      await sleep(500);
      owed = await topicEnd();
    }
    await Promise.all(subscribers.map((s) => s.stop()));
    await admin.disconnect();
    log(`[chaos] drained (${pending} tasks without a final status); reading the topics`);

    // The ground truth, read once more from the topics.
    const bus = kafka.bus.kafka;
    const ledger = new TaskLedger();
    for (const m of await readTopics(bus, [
      orchestrationEvents.taskUpdated.topic,
      orchestrationEvents.attemptFinished.topic,
    ]))
      feedLedger(ledger, m.topic, m.value);
    const activity = await readTopics(bus, [activityTopic]);
    const truth: TopicMessage[] = [];
    const trials = new Map<string, Set<string>>();
    const conversions = new Map<string, Set<string>>();
    for (const m of activity) {
      const e = envelopeOf(m.value);
      if (!e || typeof e.data.activityId !== 'string') continue;
      truth.push({ partition: m.partition, offset: m.offset, timestamp: m.timestamp, id: e.data.activityId });
      const { kind, customerId, trialId, activityId } = e.data;
      if (kind === 'TRIAL_STARTED' && typeof customerId === 'string' && typeof trialId === 'string')
        trials.set(customerId, (trials.get(customerId) ?? new Set()).add(trialId));
      if (kind === 'SUBSCRIPTION_STARTED' && typeof trialId === 'string')
        conversions.set(trialId, (conversions.get(trialId) ?? new Set()).add(activityId));
    }
    const tickets = new Map<string, Set<string>>();
    for (const m of await readTopics(bus, [supportEvents.ticketOpened.topic])) {
      const e = envelopeOf(m.value);
      const { customerId, ticketId } = e?.data ?? {};
      if (typeof customerId === 'string' && typeof ticketId === 'string')
        tickets.set(customerId, (tickets.get(customerId) ?? new Set()).add(ticketId));
    }
    const dlq = await dlqTopics(bus);
    const dead = await readTopics(bus, dlq);

    // Per window.
    const windows = faultWindows(
      loadStart,
      injections.map((i) => ({ name: i.name, at: i.injectedAt })),
    );
    const tasks = countTasks(windows, accepted, ledger);
    const trialDup = countEffectDuplicates(windows, trials, business.requestedAt.trials);
    const convDup = countEffectDuplicates(windows, conversions, business.requestedAt.conversions);
    const ticketDup = countEffectDuplicates(windows, tickets, business.requestedAt.tickets);
    const deadAll = countByWindow(
      windows,
      dead.map((m) => m.timestamp),
    );
    const deadByTopic: Record<string, number>[] = windows.map(() => ({}));
    for (const m of dead) {
      const w = deadByTopic[windowIndex(windows, m.timestamp)]!;
      w[m.topic] = (w[m.topic] ?? 0) + 1;
    }
    // Published after the subscribers' last check: not owed (see `owed` above), reported apart.
    const publishedAfter = truth.filter((m) => m.offset >= (owed[m.partition] ?? 0)).length;
    const missed = windows.map(() => 0);
    const missedSample: { partition: number; offset: number; publishedAt: string; id: string }[][] =
      windows.map(() => []);
    const dupEvents = windows.map(() => 0);
    let unmatched = 0;
    const subErrors: Record<string, number> = {};
    for (const s of subscribers) {
      const c = compareStream(truth, s.received, owed);
      for (const m of c.missed) {
        const w = windowIndex(windows, m.timestamp);
        missed[w]! += 1;
        if (missedSample[w]!.length < 5)
          missedSample[w]!.push({
            partition: m.partition,
            offset: m.offset,
            publishedAt: new Date(m.timestamp).toISOString(),
            id: m.id,
          });
      }
      for (const r of c.duplicated) dupEvents[windowIndex(windows, r.at)]! += 1;
      unmatched += c.unmatched.length;
      for (const [k, v] of s.errors) subErrors[k] = (subErrors[k] ?? 0) + v;
    }

    const faults: ChaosFaultResult[] = windows.map((w, i) => {
      const inj = i === 0 ? null : injections[i - 1]!;
      const t = tasks[i]!;
      const duplicates = t.duplicates + trialDup[i]! + convDup[i]! + ticketDup[i]!;
      return {
        name: w.name,
        recoveryS: inj?.recoveredAt ? Math.round((inj.recoveredAt - inj.injectedAt) / 100) / 10 : null,
        lost: t.lost,
        duplicates,
        missedEvents: missed[i]!,
        duplicatedEvents: dupEvents[i]!,
        deadLettered: deadAll[i]!,
        injectedAt: inj ? new Date(inj.injectedAt).toISOString() : null,
        windowS: Math.round(((Number.isFinite(w.end) ? w.end : loadEnd) - w.start) / 100) / 10,
        accepted: t.accepted,
        completed: t.completed,
        failed: t.failed,
        detail: {
          taskDuplicates: t.duplicates,
          trialDuplicates: trialDup[i]!,
          conversionDuplicates: convDup[i]!,
          ticketDuplicates: ticketDup[i]!,
          deadLetteredByTopic: deadByTopic[i]!,
          lostSample: t.lostSample,
          duplicateSample: t.duplicateSample,
          failedReasons: t.failedReasons,
          missedEventSample: missedSample[i]!,
        },
      };
    });
    const sum = (f: (x: ChaosFaultResult) => number) => faults.reduce((a, x) => a + f(x), 0);
    const report: ChaosReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: `npm run chaos -- ${argv.join(' ')}`.trim(),
      machine: {
        cpus: os.cpus().length,
        loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
        node: process.version,
      },
      settings: {
        quick: options.quick,
        rate: options.rate,
        subscribers: options.subscribers,
        baselineS: options.baselineS,
        settleS: options.settleS,
        recoverTimeoutS: options.recoverTimeoutS,
        drainS: options.drainS,
        faults: options.faults.map(faultName),
        loadS: Math.round(loaded.offeredS),
      },
      faults,
      totals: {
        accepted: sum((f) => f.accepted),
        refused: tracker.refusedCount,
        lost: sum((f) => f.lost),
        duplicates: sum((f) => f.duplicates),
        missedEvents: sum((f) => f.missedEvents),
        duplicatedEvents: sum((f) => f.duplicatedEvents),
        deadLettered: sum((f) => f.deadLettered),
      },
      subscribers: {
        count: subscribers.length,
        reconnects: subscribers.reduce((a, s) => a + s.reconnects(), 0),
        eventsReceived: subscribers.reduce((a, s) => a + s.received.length, 0),
        unmatched,
        errors: subErrors,
        neverStarted: subscribers.filter((s) => s.received.length === 0).length,
        publishedAfterLastCheck: publishedAfter,
      },
      business: business.counts,
      notes: [
        'A task counts in the window it was accepted in (produce acknowledged or mutation answered); refused submissions are not lost.',
        'Lost: accepted, no final status in orchestration.task.updated after the drain. Duplicate: two distinct final-status events or two SUCCEEDED attempts of one task; a second trial for one customer, a second SUBSCRIPTION_STARTED for one trial, a second ticket for one customer (each requested once, never retried).',
        'Missed/duplicated events: each subscriber against marketplace.activity.created from its first event to the end of the topic when it was last seen caught up (events published after that are not owed: publishedAfterLastCheck); a missed event counts in the window it was published in, a duplicate in the window it was received in.',
        'deadLettered: messages on every *.dlq topic, by their timestamp.',
      ],
    };
    const json = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(path.join(outDir, 'chaos-latest.json'), json);
    copyFileSync(path.join(outDir, 'chaos-latest.json'), path.join(outDir, `chaos-${runId}.json`));
    log('');
    log(chaosTable(faults));
    log('');
    log(
      `accepted ${report.totals.accepted}, refused ${report.totals.refused}; subscribers ${report.subscribers.count}: ${report.subscribers.eventsReceived} events, ${report.subscribers.reconnects} reconnects${unmatched ? `, ${unmatched} unmatched` : ''}; trials ${business.counts.trialsStarted}, conversions ${business.counts.conversions}, tickets ${business.counts.tickets}`,
    );
    log(`results: ${path.relative(process.cwd(), path.join(outDir, 'chaos-latest.json'))}`);
    return 0;
  } finally {
    await stopAll();
  }
}

runCli('chaos', USAGE, () => parseChaosArgs(argv), main);
