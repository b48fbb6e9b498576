import { randomUUID } from 'node:crypto';
import type { AgentRegistration, InstanceLoad } from '@waooaw/shared';
import { discoveryEvents, discoveryMessages, identityEvents } from '@waooaw/shared';
import {
  graphqlExecutor,
  pollFor,
  startTestService,
  TEST_CALLER_SECRET,
  testConfig,
  testNamespace,
  uniqueName,
} from '@waooaw/shared/testing';
import type { DiscoveryDeps } from '../server';
import { createServer, environmentSchema } from '../server';

/** The defaults of the environment, with a fast sweep and a short grace period. */
export const TEST_CONFIG: DiscoveryDeps['config'] = testConfig(environmentSchema, {
  DISCOVERY_SWEEP_INTERVAL_MS: '100',
  DISCOVERY_REMOVE_AFTER_SECONDS: '2',
});

export const IDLE: InstanceLoad = { inFlight: 0, latencyMs: 40, errorRate: 0, completed: 0, failed: 0 };

/**
 * The discovery service on the real servers, driven in process with executeOperation.
 *
 * Each one runs in a namespace of its own (testNamespace). Its new consumer groups start at the
 * beginning of their topics, as the product's do; in the run's namespace that beginning holds all
 * the run published before (late in a full run, thousands of heartbeats, attempt outcomes and agent
 * events), which discovery handled before the test's first event, for longer than the test waited.
 * Starting at the end instead would race: kafkajs places a partition nobody has committed at its end
 * only when it first fetches it (after the join, and again when a rebalance moves the partition to
 * another process), so an event published in between would be skipped.
 */
export async function startDiscovery(config: Partial<DiscoveryDeps['config']> = {}) {
  const t = await startTestService({
    name: 'discovery',
    namespace: testNamespace(),
    collect: Object.values(discoveryEvents).map((e) => e.topic),
    create: (deps) => createServer({ ...deps, config: { ...TEST_CONFIG, ...config } }),
  });
  const server = t.server;
  // The outside bus stands in for identity and a runtime: they only talk to discovery through Kafka.
  const { outside } = t;

  /** Publishes identity's registration of an ACTIVE agent and waits until discovery knows it. */
  async function knownAgent(
    overrides: {
      handle?: string;
      tier?: AgentRegistration['tier'];
      capabilities?: { name: string; version: string }[];
    } = {},
  ) {
    const agentId = randomUUID();
    const handle = overrides.handle ?? uniqueName('wow-disc').toLowerCase();
    await outside.publish(
      identityEvents.agentRegistered,
      {
        agentId,
        handle,
        name: `Agent ${handle}`,
        version: '1.2.0',
        kind: 'CUSTOMER',
        category: 'MARKETING',
        tier: overrides.tier ?? 'STANDARD',
        specialization: 'tests',
        industries: [],
        tags: [],
        status: 'ACTIVE',
        capabilities: overrides.capabilities ?? [{ name: 'content.write-article', version: '1.2.0' }],
        outcome: 'CREATED',
      },
      { subject: agentId },
    );
    await pollFor(async () => (await server.agents.findById(agentId).lean())?.version === '1.2.0', {
      what: `discovery to learn agent ${handle}`,
    });
    return { agentId, handle };
  }

  /** What a runtime publishes when it starts hosting an instance. */
  function runtimeRegistration(handle: string, overrides: Record<string, unknown> = {}) {
    return {
      instanceId: `${uniqueName('rt')}:${handle}:0`,
      handle,
      agentVersion: '1.2.0',
      runtimeId: 'rt-test',
      tier: 'STANDARD' as const,
      weight: 1,
      ttlSeconds: 30,
      concurrency: 4,
      breakerPreset: 'AGGRESSIVE' as const,
      capabilities: [{ name: 'content.write-article', version: '1.2.0' }],
      load: IDLE,
      ...overrides,
    };
  }

  return {
    ...server,
    db: t.db,
    outside,
    knownAgent,
    runtimeRegistration,
    exec: graphqlExecutor(server, TEST_CALLER_SECRET),
    eventsOf: t.events,
    publishRegister: (data: ReturnType<typeof runtimeRegistration>) =>
      outside.publish(discoveryMessages.instanceRegister, data, { subject: data.instanceId }),
    /**
     * Starts one more discovery process beside this one (same database, same group prefix: a
     * rolling restart's new process), with its consumers joined; the test stops it.
     */
    async startAnother() {
      const started = await t.another();
      return { ...started, exec: graphqlExecutor(started, TEST_CALLER_SECRET) };
    },
    stop: () => t.stop(),
  };
}

export const INSTANCE_FIELDS = `id handle agentVersion source runtimeId inbox endpoint tier weight concurrency ttlSeconds
  status capabilities { name version } agent { id }
  health { status reason } circuit { state preset calls failureRate } load { inFlight latencyMs errorRate }`;
