import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '@waooaw/infra';
import type { FleetOptions } from '@waooaw/agents/runtime';
import { catalogue, createAgentRuntime, planFleet } from '@waooaw/agents/runtime';
import { createEventBus } from '@waooaw/shared';
import {
  graphqlExecutor,
  pollFor,
  startTestService,
  TEST_CALLER_SECRET,
  testConfig,
  testDatabase,
  testInfra,
  testKafka,
  testLogger,
  uniqueName,
} from '@waooaw/shared/testing';
import type { TestableServer, TestServiceOptions } from '@waooaw/shared/testing';
import type { DiscoveryDeps } from '@waooaw/discovery/server';
import {
  createServer as createDiscovery,
  environmentSchema as discoveryEnvironment,
} from '@waooaw/discovery/server';
import { createServer as createFactory } from '@waooaw/factory/server';
import type { OrchestrationDeps } from '@waooaw/orchestration/server';
import type { MarketplaceDeps } from '@waooaw/marketplace/server';
import type { SupportDeps } from '@waooaw/support/server';
import {
  createServer as createSupport,
  environmentSchema as supportEnvironment,
} from '@waooaw/support/server';
import {
  createServer as createMarketplace,
  environmentSchema as marketplaceEnvironment,
} from '@waooaw/marketplace/server';
import { startTestGateway } from './gateway';
import {
  createServer as createOrchestration,
  environmentSchema as orchestrationEnvironment,
} from '@waooaw/orchestration/server';
import { createServer as createIdentity } from '@waooaw/identity/server';

/** The caller-token secret of every service the helpers below start. */
export const SECRET = TEST_CALLER_SECRET;

export { freePort };

/*
 * Every helper below starts its services in the test run's namespace (WAOOAW_NAMESPACE, see
 * testInfra), or in the one it is given: platforms in different namespaces share the broker and the
 * MongoDB server without seeing each other (flows/namespaces.test.ts).
 */

/** identity and factory together, each with its own database, talking over the real Kafka. */
export async function startIdentityAndFactory(options: { loadCatalogue?: boolean; namespace?: string } = {}) {
  const namespace = options.namespace ?? testInfra().namespace;
  const consumerGroupPrefix = `${uniqueName('flow')}.`;
  const identity = await startTestService({
    name: 'identity',
    namespace,
    consumerGroupPrefix,
    create: (deps) =>
      createIdentity({
        ...deps,
        config: { CALLER_TOKEN_SECRET: SECRET, A2A_BASE_URL: 'http://localhost:4000', NODE_ENV: 'test' },
      }),
  });
  const factory = await startTestService({
    name: 'factory',
    namespace,
    consumerGroupPrefix,
    create: (deps) =>
      createFactory({
        ...deps,
        config: {
          CALLER_TOKEN_SECRET: SECRET,
          NODE_ENV: 'test',
          FACTORY_LOAD_CATALOGUE: options.loadCatalogue ?? false,
          FACTORY_CATALOGUE_DIR: `${__dirname}/../../agents/definitions`,
        },
      }),
  });
  return {
    urls: { identity: `${identity.url}/graphql`, factory: `${factory.url}/graphql` },
    secret: SECRET,
    factoryDbName: factory.db.connection.name,
    namespace,
    identity: { ...identity.server, exec: graphqlExecutor(identity.server, SECRET, 'op-flow') },
    factory: { ...factory.server, exec: graphqlExecutor(factory.server, SECRET, 'op-flow') },
    async stop() {
      await factory.stop();
      await identity.stop();
    },
  };
}

/**
 * Where an in-process service keeps its data and how its consumer groups are named. Defaults: the
 * shared test MongoDB and a prefix of its own. A chaos test gives its services a MongoDB it can
 * freeze or kill, and one prefix, so it can tell its own dead letters from other test files'.
 */
export interface ServiceSetup {
  mongoUrl?: string;
  consumerGroupPrefix?: string;
  /** WAOOAW_NAMESPACE of its topics, groups and database (default: the test run's). */
  namespace?: string;
}

/** One service of the platform in process, with its GraphQL URL. */
async function startFlowService<S extends TestableServer>(options: TestServiceOptions<S>) {
  const started = await startTestService(options);
  return { ...started.server, url: `${started.url}/graphql`, stop: () => started.stop() };
}

/** The discovery service beside them, with short sweeps so TTL expiry shows within a test. */
export async function startDiscovery(
  config: Partial<DiscoveryDeps['config']> = {},
  setup: ServiceSetup = {},
) {
  return startFlowService({
    name: 'discovery',
    ...setup,
    // Other test files' runtimes and agents are on the same broker: hear only what comes from now on
    // (so start discovery before the services whose events it needs).
    fromBeginning: false,
    create: (deps) =>
      createDiscovery({
        ...deps,
        config: { ...testConfig(discoveryEnvironment, { DISCOVERY_SWEEP_INTERVAL_MS: '200' }), ...config },
      }),
  });
}

/** The orchestration service, dispatching to whatever runtimes discovery knows. */
export async function startOrchestration(
  config: Partial<OrchestrationDeps['config']> = {},
  setup: ServiceSetup = {},
) {
  return startFlowService({
    name: 'orchestration',
    ...setup,
    // Other test files' instances are on the same broker: know only those announced from now on.
    fromBeginning: false,
    create: (deps) =>
      createOrchestration({
        ...deps,
        config: {
          ...testConfig(orchestrationEnvironment, {
            ORCHESTRATION_TICK_MS: '50',
            TASK_RETRY_INITIAL_MS: '20',
          }),
          ...config,
        },
      }),
  });
}

/** The marketplace service, projecting listings from the other services' events. */
export async function startMarketplace(
  config: Partial<MarketplaceDeps['config']> = {},
  namespace = testInfra().namespace,
) {
  return startFlowService({
    name: 'marketplace',
    namespace,
    // Like discovery: hear the catalogue's agents as they register (start it before identity).
    fromBeginning: false,
    create: (deps) =>
      createMarketplace({
        ...deps,
        config: {
          ...testConfig(marketplaceEnvironment, { MARKETPLACE_SWEEP_INTERVAL_MS: '500' }),
          ...config,
        },
      }),
  });
}

/** The support service: tickets escalated L1 (WowSupport) -> L2 (CoE agents) -> L3 (humans). */
export async function startSupport(
  config: Partial<SupportDeps['config']> = {},
  namespace = testInfra().namespace,
) {
  return startFlowService({
    name: 'support',
    namespace,
    fromBeginning: false,
    create: (deps) =>
      createSupport({
        ...deps,
        config: { ...testConfig(supportEnvironment, { SUPPORT_SWEEP_INTERVAL_MS: '100' }), ...config },
      }),
  });
}

/**
 * The gateway in front of discovery and orchestration only, with no runtime of the catalogue: for
 * tests that host their own agents (the bench's example workflows start theirs over Kafka).
 */
export async function startRoutingPlatform() {
  const discovery = await startDiscovery();
  const orchestration = await startOrchestration();
  const gatewayDb = await testDatabase('gateway-routing');
  const gateway = await startTestGateway({
    urls: { discovery: discovery.url, orchestration: orchestration.url },
    callerSecret: SECRET,
    connection: gatewayDb.connection,
  });
  return {
    discovery,
    orchestration,
    gateway,
    async stop() {
      await gateway.service.stop();
      await orchestration.stop();
      await discovery.stop();
      await gatewayDb.drop();
    },
  };
}

const ORCHESTRATION_MAIN = path.resolve(__dirname, '../../services/orchestration/dist/index.js');

/**
 * Orchestration as its own process (the built one `npm start` runs), on a fixed port and database,
 * so a test can kill it with SIGKILL mid-flight and start it again where it was.
 */
export async function startOrchestrationProcess(
  env: Record<string, string> = {},
  namespace = testInfra().namespace,
) {
  if (!existsSync(ORCHESTRATION_MAIN))
    throw new Error(`${ORCHESTRATION_MAIN} is missing: run \`npm run build\` first`);
  const db = await testDatabase('flow-orchestration-process', namespace);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The same groups across restarts: the new process resumes from the dead one's committed offsets.
  const groupPrefix = `${uniqueName('flow')}.`;
  let child: ChildProcess | undefined;
  const start = async () => {
    const spawned = spawn(process.execPath, [ORCHESTRATION_MAIN], {
      env: {
        ...process.env,
        KAFKA_BROKERS: testInfra().brokers.join(','),
        MONGO_URL: testInfra().mongoUrl,
        // The process puts its namespace in front of the database name itself.
        WAOOAW_NAMESPACE: namespace,
        ORCHESTRATION_DB: db.name,
        PORT: String(port),
        HOST: '127.0.0.1',
        CALLER_TOKEN_SECRET: SECRET,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        // Other test files' instances are on the same broker: know only those announced from now on.
        KAFKA_GROUP_PREFIX: groupPrefix,
        KAFKA_FROM_BEGINNING: 'false',
        ORCHESTRATION_TICK_MS: '50',
        ORCHESTRATION_RECONCILE_MS: '500',
        TASK_RETRY_INITIAL_MS: '20',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = spawned;
    await pollFor(
      async () => {
        if (spawned.exitCode !== null) throw new Error(`orchestration exited with ${spawned.exitCode}`);
        const res = await fetch(`${url}/health/ready`).catch(() => null);
        return res?.status === 200;
      },
      { what: 'the orchestration process to be ready', timeoutMs: 60_000, intervalMs: 100 },
    );
  };
  const exited = (signal: NodeJS.Signals) => {
    const target = child;
    if (!target || target.exitCode !== null || target.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      target.once('exit', () => resolve());
      target.kill(signal);
    });
  };
  await start();
  return {
    url: `${url}/graphql`,
    /** Its consumer groups' prefix (to tell its dead letters from other test files'). */
    groupPrefix,
    /** Dies at once, as on a crash: nothing is flushed, no group is left. */
    kill: () => exited('SIGKILL'),
    restart: start,
    async stop() {
      await exited('SIGTERM');
      await db.drop();
    },
  };
}

/**
 * One agents runtime in process, hosting an instance of every catalogue agent (or of `fleet.handles`).
 * `catalogue` replaces the skill handlers (a chaos test counts how often each task's handler ran).
 */
export async function startRuntime(
  options: {
    fleet?: Pick<FleetOptions, 'handles' | 'concurrency' | 'workMs'>;
    catalogue?: typeof catalogue;
    consumerGroupPrefix?: string;
    orchestrationUrl?: string;
    factoryUrl?: string;
    namespace?: string;
  } = {},
) {
  const bus = createEventBus({
    ...testKafka(options.namespace),
    service: 'agents-runtime',
    logger: testLogger(),
  });
  const runtimeId = uniqueName('rt-main');
  const agents = options.catalogue ?? catalogue;
  const runtime = createAgentRuntime({
    bus,
    logger: testLogger(),
    runtimeId,
    fleet: planFleet(agents, { runtimeId, ...options.fleet }),
    catalogue: agents,
    heartbeatIntervalMs: 2000,
    ttlSeconds: 10,
    consumerGroupPrefix: options.consumerGroupPrefix ?? `${uniqueName('flow')}.`,
    ...(options.orchestrationUrl
      ? { orchestration: { url: options.orchestrationUrl, callerSecret: SECRET } }
      : {}),
    ...(options.factoryUrl ? { factory: { url: options.factoryUrl, callerSecret: SECRET } } : {}),
  });
  await runtime.start();
  return {
    runtime,
    async stop() {
      await runtime.stop();
      await bus.disconnect();
    },
  };
}

/**
 * What `npm start` runs, in process: discovery (first, so it hears the catalogue's registrations
 * live), identity and factory with the catalogue, optionally orchestration, a gateway in front, and
 * one agents runtime hosting an instance of every catalogue agent.
 */
export async function startPlatformWithRuntime(
  options: {
    /** In process (true), as its own process ('process': see startOrchestrationProcess), or none. */
    orchestration?: boolean | 'process';
    /** The runtime's fleet: only some agents, their concurrency, a simulated work time. */
    fleet?: Pick<FleetOptions, 'handles' | 'concurrency' | 'workMs'>;
    /** The marketplace too (it needs orchestration for trials and sample deliverables). */
    marketplace?: boolean;
    /** The support service too (it needs orchestration for its agents' tiers). */
    support?: boolean;
    /** WAOOAW_NAMESPACE of every part of it; default: the test run's. */
    namespace?: string;
  } = {},
) {
  const namespace = options.namespace ?? testInfra().namespace;
  const discovery = await startDiscovery({}, { namespace });
  const marketplace = options.marketplace ? await startMarketplace({}, namespace) : null;
  const support = options.support ? await startSupport({}, namespace) : null;
  const platform = await startIdentityAndFactory({ loadCatalogue: true, namespace });
  const orchestration = options.orchestration === true ? await startOrchestration({}, { namespace }) : null;
  const orchestrationProcess =
    options.orchestration === 'process' ? await startOrchestrationProcess({}, namespace) : null;
  const orchestrationUrl = orchestration?.url ?? orchestrationProcess?.url;
  const gatewayDb = await testDatabase('gateway-platform', namespace);
  const gateway = await startTestGateway({
    urls: {
      ...platform.urls,
      discovery: discovery.url,
      ...(orchestrationUrl ? { orchestration: orchestrationUrl } : {}),
      ...(marketplace ? { marketplace: marketplace.url } : {}),
      ...(support ? { support: support.url } : {}),
    },
    callerSecret: platform.secret,
    connection: gatewayDb.connection,
    namespace,
  });
  const hosted = await startRuntime({
    fleet: options.fleet,
    orchestrationUrl,
    factoryUrl: platform.urls.factory,
    namespace,
  });
  const { runtime } = hosted;
  return {
    namespace,
    platform,
    discovery,
    orchestration,
    orchestrationProcess,
    marketplace,
    support,
    gateway,
    runtime,
    async stop() {
      await hosted.stop();
      await gateway.service.stop();
      await orchestration?.stop();
      await orchestrationProcess?.stop();
      await marketplace?.stop();
      await support?.stop();
      await discovery.stop();
      await gatewayDb.drop();
      await platform.stop();
    },
  };
}
