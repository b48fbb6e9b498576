import { Counter } from 'prom-client';
import type {
  Component,
  EventBus,
  EventData,
  InstanceRegistration,
  Logger,
  PlatformMetrics,
} from '@waooaw/shared';
import {
  activeTraceparent,
  inSpan,
  agentsMessages,
  CALLER_HEADER,
  discoveryMessages,
  factoryCommands,
  HEARTBEATS_TOPIC,
  on,
  runtimeInbox,
  signCallerToken,
  TASK_RESULTS_TOPIC,
  taskAssignedTo,
  within,
} from '@waooaw/shared';
import type { LlmProvider } from '../llm';
import { enrichOutput } from '../llm';
import type { AgentManifest } from '../manifest';
import type { PlatformServices, SkillHandler } from '../skills';
import { searchManifests, SkillInputError, SkillUnavailableError } from '../skills';
import type { InstanceSpec, WorkRange } from './fleet';
import type { LoadTracker } from './load';
import { createLoadTracker } from './load';
import type { WorkerPool } from './worker-pool';
import { createWorkerPool } from './worker-pool';

export interface AgentRuntimeOptions {
  bus: EventBus;
  logger: Logger;
  runtimeId: string;
  fleet: InstanceSpec[];
  /** How often every instance reports that it is alive, with its load. */
  heartbeatIntervalMs: number;
  /** Silence discovery tolerates before an instance turns UNKNOWN (a few missed heartbeats). */
  ttlSeconds: number;
  /** The skill handlers of each agent (the generated catalogue). */
  catalogue: readonly { manifest: AgentManifest; handlers: Readonly<Record<string, SkillHandler>> }[];
  /** Platform operations the CoE agents' skills use (defaults to what the runtime can do itself). */
  platform?: PlatformServices;
  /** Consumer group prefix (tests run several runtimes side by side). */
  consumerGroupPrefix?: string;
  /** Where WowAnalytics reads task figures: orchestration's subgraph, called as an operator. */
  orchestration?: SubgraphTarget;
  /** Where WowAgentFactory validates definitions: the factory's subgraph, called as an operator. */
  factory?: SubgraphTarget;
  /** A model that appends notes to Markdown deliverables (optional; off when not given). */
  llm?: LlmProvider;
  /** Where the runtime's own counters are registered (the service's /metrics). */
  metrics?: PlatformMetrics;
}

/** A subgraph the runtime calls as an operator (subgraphs accept callers signed with the shared secret). */
export interface SubgraphTarget {
  url: string;
  callerSecret: string;
}

/**
 * Runs one query on the subgraph `name` (also the audience its caller token is signed for) and
 * returns its data, or throws with the subgraph's first error.
 */
async function querySubgraph<T>(
  target: SubgraphTarget,
  name: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  const token = await signCallerToken(
    { sub: 'agents-runtime', roles: ['operator'] },
    target.callerSecret,
    name,
  );
  const res = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [CALLER_HEADER]: token },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (!body.data)
    throw new Error(`${name} answered ${res.status}: ${body.errors?.[0]?.message ?? 'no data'}`);
  return body.data;
}

type TaskStatsResult = Awaited<ReturnType<NonNullable<PlatformServices['taskStats']>>>;

/** taskStats through orchestration's GraphQL API (WowAnalytics). */
function orchestrationTaskStats(target: SubgraphTarget): PlatformServices['taskStats'] {
  return async (filter) =>
    (
      await querySubgraph<{ taskStats: TaskStatsResult }>(
        target,
        'orchestration',
        `query($h: String, $c: String) { taskStats(agentHandle: $h, capability: $c) {
          completed failed averageMs p95Ms byCapability { capability completed failed } } }`,
        { h: filter.agentHandle ?? null, c: filter.capability ?? null },
      )
    ).taskStats;
}

/** The factory's own validation of a YAML definition (WowAgentFactory checks before it submits). */
function factoryValidation(target: SubgraphTarget): PlatformServices['validateAgentDefinition'] {
  return async (yaml) => {
    const { validateAgentDefinition: result } = await querySubgraph<{
      validateAgentDefinition: {
        valid: boolean;
        problems: { path: string; line: number; message: string }[];
      };
    }>(
      target,
      'factory',
      `query($yaml: String!) { validateAgentDefinition(yaml: $yaml) { valid problems { path line message } } }`,
      { yaml },
    );
    return {
      valid: result.valid,
      problems: result.problems.map((p) => `${p.path || 'document'} (line ${p.line}): ${p.message}`),
    };
  };
}

/**
 * The skill's result, held until the instance's simulated work time has passed (the bench's tiers
 * take 10-150 ms a task; the skills themselves finish in a millisecond or two).
 */
async function padded<T>(work: WorkRange | undefined, startedAt: number, result: Promise<T>): Promise<T> {
  const value = await result;
  if (!work) return value;
  const target = work.min + Math.random() * (work.max - work.min);
  const remaining = target - (Date.now() - startedAt);
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
  return value;
}

/** How many recent attempts a runtime remembers to run each once (see `takeOnce`). */
const RECENT_ATTEMPTS = 50_000;

/** The tracer of the runtime's spans (the process's service name too). */
const RUNTIME_TRACER = 'agents-runtime';

/** One instance the runtime hosts: what it is, how loaded it is, and the pool that runs its tasks. */
export interface HostedInstance {
  spec: InstanceSpec;
  load: LoadTracker;
  pool: WorkerPool;
  handlers: Readonly<Record<string, SkillHandler>>;
}

type Assignment = EventData<ReturnType<typeof taskAssignedTo>>;

/**
 * A fault injected into every instance of a runtime, for the bench's failures scenario and the
 * fault-tolerant example: `errors` fails every attempt (as a broken dependency would), `silent` drops
 * assignments and heartbeats (as a hung or crashed process would) until it is cleared with null.
 */
export type RuntimeFault = 'errors' | 'silent' | null;

/**
 * The agents runtime: hosts agent instances, registers them with discovery and heartbeats for them
 * over Kafka (`discovery.heartbeats`), and deregisters them when it stops cleanly. A runtime that
 * dies without stopping is noticed by discovery through the missing heartbeats.
 */
export function createAgentRuntime(options: AgentRuntimeOptions) {
  const { bus, logger, runtimeId } = options;
  const handlersOf = new Map(options.catalogue.map((e) => [e.manifest.handle, e.handlers]));
  const hosted: HostedInstance[] = options.fleet.map((spec) => ({
    spec,
    load: createLoadTracker(),
    pool: createWorkerPool(spec.concurrency),
    handlers: handlersOf.get(spec.manifest.handle) ?? {},
  }));
  const byId = new Map(hosted.map((h) => [h.spec.instanceId, h]));
  let fault: RuntimeFault = null;
  const platform: PlatformServices = options.platform ?? {
    // "Agent creates agent": the definition goes to the factory as a command, like any other build.
    async submitAgentDefinition(yaml) {
      const requestId = `agent-build-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      await bus.publish(
        factoryCommands.submitDefinition,
        { requestId, actor: `agents-runtime:${runtimeId}`, yaml, activate: false },
        { subject: requestId },
      );
      return { buildId: requestId, status: 'SUBMITTED' };
    },
    ...(options.orchestration ? { taskStats: orchestrationTaskStats(options.orchestration) } : {}),
    ...(options.factory ? { validateAgentDefinition: factoryValidation(options.factory) } : {}),
    // WowSearch searches the catalogue this runtime carries.
    searchCatalogue: (query, limit) =>
      Promise.resolve(
        searchManifests(
          options.catalogue.map((e) => e.manifest),
          query,
          limit,
        ),
      ),
  };

  const publishResult = (
    a: Assignment,
    outcome: 'SUCCEEDED' | 'FAILED' | 'REJECTED',
    durationMs: number,
    extra: { output?: EventData<typeof agentsMessages.taskResult>['output']; error?: string },
    traceparent: string,
  ) =>
    bus.publish(
      agentsMessages.taskResult,
      {
        taskId: a.taskId,
        attempt: a.attempt,
        instanceId: a.instanceId,
        runtimeId,
        outcome,
        durationMs,
        ...extra,
      },
      { subject: a.taskId, traceparent },
    );

  /** The skill's deliverable, enriched by the LLM when there is one (enrichment never fails it). */
  const deliver = async (host: HostedInstance, handler: SkillHandler, a: Assignment) => {
    const output = await handler(a.input, { now: new Date(), taskId: a.taskId, platform });
    if (!options.llm) return output;
    const subject = { capability: a.capability, agentName: host.spec.manifest.name, input: a.input, output };
    return enrichOutput(options.llm, subject, logger.child({ taskId: a.taskId }));
  };

  const expired = new Counter({
    name: 'waooaw_runtime_attempts_expired_total',
    help: 'Assignments not run because orchestration had already timed their attempt out (read late or queued too long)',
    registers: options.metrics ? [options.metrics.registry] : [],
  });
  /**
   * Whether an attempt's time is up before it starts. Orchestration times an attempt out `timeoutMs`
   * after it handed it out (the assignment's envelope time) and retries it or fails the task; a
   * result after that is ignored. Such assignments pile up while a runtime is down: a restarted
   * runtime reads them all at once, and running them would only make the attempts that still count
   * (the retries, behind them in the inbox) wait and time out in turn. Both clocks are the hosts'
   * wall clocks; a skew between them moves the cut by as much.
   */
  const pastItsTime = (a: Assignment, deadline: number, where: 'read' | 'queued'): boolean => {
    if (Date.now() < deadline) return false;
    expired.inc();
    logger.debug({ taskId: a.taskId, attempt: a.attempt, where }, 'attempt already timed out; not run');
    return true;
  };

  /**
   * Runs one attempt on its instance and reports how it went; a handler's failure never escapes.
   * `traceparent` is the assignment's: the run is a span of the task's trace, and so is its result.
   */
  function execute(
    host: HostedInstance,
    a: Assignment,
    deadline: number,
    traceparent: string,
  ): Promise<void> {
    return inSpan(
      RUNTIME_TRACER,
      () => ({
        name: `run ${a.capability}`,
        parent: traceparent,
        attributes: {
          'waooaw.task.id': a.taskId,
          'waooaw.task.attempt': a.attempt,
          'waooaw.instance.id': a.instanceId,
          'waooaw.capability': a.capability,
        },
      }),
      async (span) => {
        // Not inside `span?.setAttribute(...)`: without tracing the optional call would skip the run.
        const outcome = await runAttempt(host, a, deadline, traceparent);
        span?.setAttribute('waooaw.outcome', outcome);
      },
    );
  }

  /** Runs the attempt and publishes its result; says how it ended. */
  async function runAttempt(
    host: HostedInstance,
    a: Assignment,
    deadline: number,
    traceparent: string,
  ): Promise<'EXPIRED' | 'SUCCEEDED' | 'FAILED' | 'REJECTED'> {
    if (pastItsTime(a, deadline, 'queued')) return 'EXPIRED';
    const started = Date.now();
    const finish = host.load.begin(started);
    const handler = host.handlers[a.capability];
    try {
      if (fault === 'errors') throw new Error(`injected fault: ${host.spec.instanceId} fails every attempt`);
      if (!handler)
        throw new SkillUnavailableError(`${host.spec.manifest.handle} has no capability ${a.capability}`);
      // Whatever is left of the attempt's time: after that orchestration no longer waits for it.
      // Past it, orchestration has retried the attempt elsewhere: this run's result would be ignored.
      const output = await within(
        padded(host.spec.workMs, started, deliver(host, handler, a)),
        deadline - started,
      );
      finish(true);
      await publishResult(a, 'SUCCEEDED', Date.now() - started, { output }, traceparent);
      return 'SUCCEEDED';
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Bad input, or a skill this runtime cannot serve, will not get better on a retry.
      const refused = err instanceof SkillInputError || err instanceof SkillUnavailableError;
      finish(refused);
      const status = refused ? 'REJECTED' : 'FAILED';
      await publishResult(a, status, Date.now() - started, { error: message }, traceparent).catch(
        (publishErr: unknown) =>
          logger.error(
            { err: publishErr, taskId: a.taskId },
            'could not report a result; orchestration will time it out',
          ),
      );
      return status;
    }
  }

  /**
   * The attempts this runtime has taken lately (`taskId:attempt`), so each runs once. Assignments are
   * delivered at least once: orchestration's outbox publishes an assignment again when it could not
   * record it as sent (MongoDB went away between the two), and the inbox is redelivered after a
   * rebalance. Running it again would apply the skill's effects twice, while orchestration records
   * only one result per attempt anyway. A retry is a new attempt number, so it does run. Bounded:
   * the oldest keys go first, long after any redelivery of theirs could arrive.
   */
  const taken = new Set<string>();
  const takeOnce = (a: Assignment): boolean => {
    const key = `${a.taskId}:${a.attempt}`;
    if (taken.has(key)) return false;
    taken.add(key);
    if (taken.size > RECENT_ATTEMPTS) taken.delete(taken.values().next().value as string);
    return true;
  };

  // Work (see shared/src/kafka/groups.ts): this runtime's inbox; each assignment is run once.
  const inbox = bus.consumer({
    groupId: `${options.consumerGroupPrefix ?? ''}agents-runtime.${runtimeId}`,
    handlers: [
      on(taskAssignedTo(runtimeId), async (a, envelope) => {
        // A silent runtime answers nothing: orchestration times the attempt out and retries it elsewhere.
        if (fault === 'silent') return;
        const deadline = Date.parse(envelope.time) + a.timeoutMs;
        if (pastItsTime(a, deadline, 'read')) return;
        if (!takeOnce(a)) {
          logger.debug({ taskId: a.taskId, attempt: a.attempt }, 'assignment delivered again; already taken');
          return;
        }
        const host = byId.get(a.instanceId);
        if (!host) {
          await publishResult(
            a,
            'FAILED',
            0,
            { error: `instance ${a.instanceId} is not hosted by runtime ${runtimeId}` },
            envelope.traceparent,
          );
          return;
        }
        // The pool runs it; the message is done once queued (a lost attempt times out and is retried).
        // The pool may start it after this handler's span has ended: it names its parent itself.
        const traceparent = activeTraceparent() ?? envelope.traceparent;
        host.pool.run(() => execute(host, a, deadline, traceparent));
      }),
    ],
  });
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;
  let started = false;
  let stopping = false;

  const registration = ({ spec }: HostedInstance): InstanceRegistration => ({
    instanceId: spec.instanceId,
    handle: spec.manifest.handle,
    agentVersion: spec.manifest.version,
    runtimeId,
    tier: spec.tier,
    weight: spec.weight,
    ttlSeconds: options.ttlSeconds,
    concurrency: spec.concurrency,
    breakerPreset: spec.breakerPreset,
    capabilities: spec.manifest.capabilities.map((c) => ({ name: c.name, version: c.version })),
  });

  /** One produce request for all instances: a 120-instance fleet stays one message batch per beat. */
  const heartbeat = async () => {
    const sentAt = new Date().toISOString();
    await bus.publishAll(
      discoveryMessages.instanceHeartbeat,
      hosted.map((h) => ({
        data: { ...registration(h), load: h.load.snapshot(), ready: !stopping, sentAt },
        options: { subject: h.spec.instanceId },
      })),
    );
  };

  const tick = () => {
    if (fault === 'silent') return;
    beating ??= heartbeat()
      .catch((err: unknown) => logger.warn({ err }, 'heartbeat failed; discovery sees it at the next one'))
      .finally(() => {
        beating = undefined;
      });
  };

  const runtime = {
    runtimeId,
    inbox: runtimeInbox(runtimeId),
    instances: hosted,
    /** Injects a fault into every instance (null clears it); see RuntimeFault. */
    setFault(next: RuntimeFault) {
      fault = next;
      logger.warn({ runtimeId, fault: next }, next ? 'fault injected' : 'fault cleared');
    },
    get fault(): RuntimeFault {
      return fault;
    },
    async start() {
      await bus.ensureTopics([HEARTBEATS_TOPIC, runtimeInbox(runtimeId), TASK_RESULTS_TOPIC]);
      await inbox.start();
      await bus.publishAll(
        discoveryMessages.instanceRegister,
        hosted.map((h) => ({
          data: { ...registration(h), load: h.load.snapshot() },
          options: { subject: h.spec.instanceId },
        })),
      );
      timer = setInterval(tick, options.heartbeatIntervalMs);
      started = true;
      logger.info({ runtimeId, instances: hosted.length }, 'agent instances registered');
    },
    /** Deregisters every instance, so routing stops at once rather than after the TTL. */
    async stop() {
      stopping = true;
      clearInterval(timer);
      await beating;
      // No new work; what is running finishes and reports before the instances leave.
      await inbox.stop();
      await Promise.all(hosted.map((h) => h.pool.drain()));
      if (!started) return;
      await bus.publishAll(
        discoveryMessages.instanceDeregister,
        hosted.map((h) => ({
          data: { instanceId: h.spec.instanceId, runtimeId, reason: 'runtime stopping' },
          options: { subject: h.spec.instanceId },
        })),
      );
      started = false;
      logger.info({ runtimeId, instances: hosted.length }, 'agent instances deregistered');
    },
    component(): Component {
      return {
        name: 'agent-runtime',
        stage: 'work',
        start: () => runtime.start(),
        stop: () => runtime.stop(),
        ready: () => started,
      };
    },
  };
  return runtime;
}

export type AgentRuntime = ReturnType<typeof createAgentRuntime>;
