import type { AgentManifest, SkillHandler } from '@waooaw/agents';
import type { InstanceSpec, WorkRange } from '@waooaw/agents/runtime';
import { createAgentRuntime } from '@waooaw/agents/runtime';
import type { EventBus, TaskOutput } from '@waooaw/shared';
import { createEventBus, createLogger } from '@waooaw/shared';
import type { GatewayClient } from '../graphql';
import type { BenchKafka } from '../kafka';

/** What an example needs of a running platform. */
export interface ExampleEnv {
  brokers: string[];
  /** The platform's WAOOAW_NAMESPACE. */
  namespace: string;
  /** The gateway as an operator (workflows are submitted through it). */
  operator: GatewayClient;
  /** Submits over Kafka and hears task, workflow and circuit events. */
  kafka: BenchKafka;
  /** Prefix of the runtime ids the example starts (unique per run in tests). */
  runId: string;
  log(line: string): void;
}

export type Tier = AgentManifest['tier'];

/** A minimal manifest for an example agent (the catalogue's are generated from YAML; these are code). */
export function exampleManifest(options: {
  handle: string;
  name: string;
  description: string;
  capabilities: { name: string; description: string }[];
  concurrency?: number;
  timeoutMs?: number;
}): AgentManifest {
  return {
    handle: options.handle,
    name: options.name,
    version: '1.0.0',
    description: options.description,
    kind: 'PLATFORM',
    category: 'PLATFORM',
    specialization: options.description,
    industries: [],
    tier: 'STANDARD',
    tags: ['example'],
    template: 'platform-coe',
    persona: { tagline: options.name, statusLine: 'ready' },
    pricing: null,
    runtime: { concurrency: options.concurrency ?? 4, timeoutMs: options.timeoutMs ?? 30_000, weight: 1 },
    capabilities: options.capabilities.map((c) => ({
      name: c.name,
      version: '1.0.0',
      description: c.description,
      handler: c.name,
      tags: [],
      inputModes: ['application/json'],
      outputModes: ['application/json'],
      examples: [],
    })),
    sourceSha256: 'example',
  };
}

/** A JSON deliverable (what the example handlers return). */
export function jsonOutput(title: string, value: unknown, summary: string): TaskOutput {
  return { format: 'application/json', title, content: JSON.stringify(value), summary };
}

/** Reads the JSON content of a deliverable (an example's own, so a parse error is a bug: let it throw). */
export function readJson<T>(output: { content: string } | null | undefined): T {
  if (!output) throw new Error('no output to read');
  return JSON.parse(output.content) as T;
}

/** One instance an example hosts. */
export interface ExampleInstance {
  manifest: AgentManifest;
  handlers: Record<string, SkillHandler>;
  tier: Tier;
  weight: number;
  concurrency?: number;
  workMs?: WorkRange;
}

/**
 * An agents runtime hosting an example's own agents, in this process: registered with discovery
 * over Kafka and heartbeating like any runtime, so orchestration routes to it with its usual rules.
 */
export async function startExampleRuntime(
  env: Pick<ExampleEnv, 'brokers' | 'namespace'>,
  runtimeId: string,
  instances: ExampleInstance[],
  options: { heartbeatIntervalMs?: number; ttlSeconds?: number } = {},
) {
  const logger = createLogger('example-runtime', process.env.LOG_LEVEL === 'debug' ? 'debug' : 'error');
  const bus: EventBus = createEventBus({
    brokers: env.brokers,
    namespace: env.namespace,
    service: 'agents-runtime',
    logger,
  });
  const counters = new Map<string, number>();
  const fleet: InstanceSpec[] = instances.map((i) => {
    const n = counters.get(i.manifest.handle) ?? 0;
    counters.set(i.manifest.handle, n + 1);
    return {
      instanceId: `${runtimeId}:${i.manifest.handle}:${n}`,
      manifest: i.manifest,
      tier: i.tier,
      weight: i.weight,
      concurrency: i.concurrency ?? i.manifest.runtime.concurrency,
      breakerPreset: 'AGGRESSIVE',
      ...(i.workMs ? { workMs: i.workMs } : {}),
    };
  });
  const catalogue = [
    ...new Map(
      instances.map((i) => [i.manifest.handle, { manifest: i.manifest, handlers: i.handlers }]),
    ).values(),
  ];
  const runtime = createAgentRuntime({
    bus,
    logger,
    runtimeId,
    fleet,
    catalogue,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
    ttlSeconds: options.ttlSeconds ?? 5,
  });
  await bus.connect();
  await runtime.start();
  return {
    runtime,
    instanceIds: fleet.map((f) => f.instanceId),
    tierOf: new Map(fleet.map((f) => [f.instanceId, f.tier] as const)),
    async stop() {
      await runtime.stop();
      await bus.disconnect();
    },
  };
}

export type ExampleRuntime = Awaited<ReturnType<typeof startExampleRuntime>>;

/**
 * Waits until discovery reports every one of these instances HEALTHY, then (with `probe`) until
 * orchestration, which follows discovery's events, routes the capability: a probe task through the
 * gateway is REJECTED at once while no instance it knows offers it, and runs once one does.
 */
export async function waitRoutable(
  env: ExampleEnv,
  runtimeIds: string[],
  expected: number,
  probe?: { capability: string; input: unknown },
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let healthy = 0;
    for (const r of runtimeIds) {
      const res = await env.operator<{ serviceInstances: { totalCount: number } }>(
        `query($r: String) { serviceInstances(filter: { runtimeId: $r, health: HEALTHY }, first: 1) { totalCount } }`,
        { r },
      );
      healthy += res.data?.serviceInstances.totalCount ?? 0;
    }
    if (healthy >= expected) break;
    if (Date.now() > deadline)
      throw new Error(`only ${healthy} of ${expected} example instances became HEALTHY`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  while (probe) {
    const res = await env.operator<{ submitTask: { status: string; error: string | null } }>(
      `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { status error } }`,
      { input: { capability: probe.capability, input: probe.input } },
    );
    const task = res.data?.submitTask;
    if (task && !(task.status === 'REJECTED' && /No registered/.test(task.error ?? ''))) break;
    if (Date.now() > deadline) throw new Error(`orchestration does not route ${probe.capability} yet`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // Orchestration's replica follows discovery's events: give the last of them a moment.
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

/** Resolves when `check` holds (checked every 20 ms), or rejects after `timeoutMs`. */
export function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }
    }, 20);
  });
}
