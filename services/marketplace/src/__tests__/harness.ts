import { randomUUID } from 'node:crypto';
import type { EventData, Role, TaskOutput } from '@waooaw/shared';
import {
  discoveryEvents,
  identityEvents,
  marketplaceEvents,
  ORCHESTRATION_COMMANDS_TOPIC,
  orchestrationEvents,
} from '@waooaw/shared';
import {
  graphqlExecutor,
  pollFor,
  startTestService,
  TEST_CALLER_SECRET,
  testConfig,
  uniqueName,
} from '@waooaw/shared/testing';
import type { Connection } from 'mongoose';
import type { ConversionHook } from '../conversion';
import type { PaymentProvider } from '../payments';
import { paymentModel } from '../models/payment';
import { createInProcessPayments } from '../payments';
import type { MarketplaceDeps } from '../server';
import { createServer, environmentSchema } from '../server';
import type { TrialStepName } from '../models/trial';

/** The defaults of the environment, with a small agent capacity and a sweep the tests run by hand. */
export const TEST_CONFIG: MarketplaceDeps['config'] = testConfig(environmentSchema, {
  MARKETPLACE_MAX_TRIALS_PER_AGENT: '2',
  MARKETPLACE_SWEEP_INTERVAL_MS: '3600000',
  MARKETPLACE_DECLINE_CUSTOMERS: 'declined-customer',
});

/** The wall clock, for tests that do not move time. */
const wallClock = () => ({
  now: () => new Date(),
  advance() {
    throw new Error('this harness runs on the wall clock; pass testClock() to move time');
  },
  set() {
    throw new Error('this harness runs on the wall clock; pass testClock() to move time');
  },
});

/** DateTime values come back from in-process execution as Date objects: compare them as ISO strings. */
export const iso = (value: unknown) => new Date(value as string).toISOString();

type Registered = EventData<typeof identityEvents.agentRegistered>;

export interface AgentSpec {
  name?: string;
  handle?: string;
  category?: Registered['category'];
  kind?: Registered['kind'];
  industries?: string[];
  tags?: string[];
  specialization?: string;
  description?: string;
  capabilities?: string[];
  plans?: { id: string; name: string; monthlyPrice: number; features?: string[] }[];
  trialDays?: number;
  status?: Registered['status'];
  version?: string;
}

export const PLANS = [
  { id: 'starter', name: 'Starter', monthlyPrice: 10000, features: ['4 articles a month'] },
  { id: 'growth', name: 'Growth', monthlyPrice: 14000, features: ['8 articles a month'] },
];

export const BUSINESS = {
  businessName: 'Sunrise Family Clinic',
  industry: 'healthcare',
  city: 'Pune',
  goals: ['more appointment bookings'],
  challenges: ['patients compare clinics online'],
};

export const deliverable = (title: string): TaskOutput => ({
  format: 'text/markdown',
  title,
  content: `# ${title}\n\nThe work.\n`,
  summary: `${title} (summary)`,
});

/**
 * The marketplace on the real servers, driven in process with executeOperation; identity,
 * discovery and orchestration are played by the test, publishing their events on Kafka.
 */
export async function startMarketplace(
  options: {
    config?: Partial<MarketplaceDeps['config']>;
    clock?: { now: () => Date; advance: (ms: number) => void; set: (at: Date) => void };
    /** Runs before each conversion step (throw to stand in for a crash there). */
    beforeConversionStep?: ConversionHook;
    /** Wraps the in-process payment provider (a stand-in for the external processor misbehaving). */
    wrapPayments?: (provider: PaymentProvider) => PaymentProvider;
    /** Start over the database of an earlier (stopped) harness: a restart of the service. */
    restartOf?: { db: { name: string } };
  } = {},
) {
  const config = { ...TEST_CONFIG, ...options.config };
  const clock = options.clock ?? wallClock();
  const failing = new Map<string, TrialStepName>();
  // The provider the server would build (same model, same declined customers), to be wrapped.
  const declined = new Set(config.MARKETPLACE_DECLINE_CUSTOMERS);
  const payments = (connection: Connection) =>
    options.wrapPayments?.(
      createInProcessPayments({
        payments: paymentModel(connection),
        clock: clock.now,
        decline: (request) => (declined.has(request.customerId) ? 'the card was refused' : null),
      }),
    );
  const t = await startTestService({
    name: 'marketplace',
    ...(options.restartOf ? { database: options.restartOf.db.name } : {}),
    collect: [
      marketplaceEvents.activityCreated.topic,
      marketplaceEvents.trialUpdated.topic,
      ORCHESTRATION_COMMANDS_TOPIC,
    ],
    // Other test files' agents and tasks are on the same broker: hear only what comes from now on.
    fromBeginning: false,
    create: (deps) => {
      const wrapped = payments(deps.connection);
      return createServer({
        ...deps,
        ...(wrapped ? { payments: wrapped } : {}),
        ...(options.beforeConversionStep ? { beforeConversionStep: options.beforeConversionStep } : {}),
        config,
        clock: clock.now,
        beforeActivationStep: (step, trial) => {
          if (failing.get(trial.agentId) === step) throw new Error(`simulated outage in ${step}`);
        },
      });
    },
  });
  const server = t.server;
  // The outside bus stands in for identity, discovery and orchestration.
  const { outside } = t;

  /** Runs operations as a caller: a customer by default, anonymous with `null`. */
  const as = (sub: string, roles: Role[] | null = ['customer']) => {
    const exec = graphqlExecutor(server, TEST_CALLER_SECRET, sub);
    return <T>(query: string, variables: Record<string, unknown> = {}) => exec<T>(query, variables, roles);
  };

  function registration(spec: AgentSpec = {}): Registered {
    const handle = spec.handle ?? uniqueName('wow-mkt').toLowerCase();
    return {
      agentId: randomUUID(),
      handle,
      name: spec.name ?? `Agent ${handle}`,
      description:
        spec.description ??
        `Writes content for tests. It also plans calendars and reviews copy for ${handle}.`,
      version: spec.version ?? '1.0.0',
      kind: spec.kind ?? 'CUSTOMER',
      category: spec.category ?? 'MARKETING',
      tier: 'STANDARD',
      specialization: spec.specialization ?? 'Content for tests',
      industries: spec.industries ?? ['healthcare'],
      tags: spec.tags ?? ['content-marketing'],
      metadata: {
        persona: { tagline: `Tagline of ${handle}`, statusLine: 'Writing a test article' },
        pricing: { currency: 'INR', trialDays: spec.trialDays ?? 7, plans: spec.plans ?? PLANS },
        template: 'marketing',
      },
      status: spec.status ?? 'ACTIVE',
      capabilities: (spec.capabilities ?? ['trial.first-deliverable', 'content.write-article']).map(
        (name) => ({
          name,
          version: '1.0.0',
        }),
      ),
      outcome: 'CREATED',
    };
  }

  /** identity registers an agent (ACTIVE by default); resolves once the marketplace has it. */
  async function registerAgent(spec: AgentSpec = {}) {
    const data = registration(spec);
    await outside.publish(identityEvents.agentRegistered, data, { subject: data.agentId });
    await pollFor(
      async () => {
        const l = await server.models.listings.findById(data.agentId).lean();
        return l?.registered && (data.status !== 'ACTIVE' || l.listedAt !== null);
      },
      { what: `the marketplace to list ${data.handle}` },
    );
    return data;
  }

  /**
   * Resolves once the marketplace has handled every registration of `agent` published so far, to the
   * end (what it decides after projecting it included): the registration is delivered again, as
   * Kafka may, keyed by the agent like the others, so it lands on their partition behind them; once
   * its event id is applied, they are done.
   */
  async function registrationsHandled(agent: Registered) {
    const marker = await outside.publish(identityEvents.agentRegistered, agent, { subject: agent.agentId });
    await pollFor(
      async () => {
        const l = await server.models.listings.findById(agent.agentId, { appliedEventIds: 1 }).lean();
        return l?.appliedEventIds.includes(marker.id);
      },
      { what: `the marketplace to handle ${agent.handle}'s registration again` },
    );
  }

  async function lifecycle(agent: Registered, from: Registered['status'], to: Registered['status']) {
    await outside.publish(
      identityEvents.agentLifecycleChanged,
      {
        agentId: agent.agentId,
        handle: agent.handle,
        kind: agent.kind,
        category: agent.category,
        from,
        to,
        actor: 'op-test',
        reason: 'test',
        at: new Date().toISOString(),
      },
      { subject: agent.agentId },
    );
  }

  async function health(
    agent: Pick<Registered, 'agentId' | 'handle'>,
    agentHealth: 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY' | 'UNKNOWN',
    options: { linked?: boolean } = {},
  ) {
    const instanceId = `${agent.handle}:0`;
    return outside.publish(
      discoveryEvents.healthChanged,
      {
        instanceId,
        agentId: options.linked === false ? null : agent.agentId,
        handle: agent.handle,
        from: 'UNKNOWN',
        to: agentHealth,
        agentHealth,
        reason: 'test',
        at: new Date().toISOString(),
      },
      { subject: instanceId },
    );
  }

  /** orchestration reports on a task. */
  async function taskUpdate(
    task: { taskId: string; agentId: string | null; agentHandle?: string | null; customerId?: string | null },
    update: {
      status: EventData<typeof orchestrationEvents.taskUpdated>['status'];
      output?: TaskOutput;
      durationMs?: number;
      error?: string;
      capability?: string;
    },
  ) {
    return outside.publish(
      orchestrationEvents.taskUpdated,
      {
        taskId: task.taskId,
        status: update.status,
        capability: update.capability ?? 'trial.first-deliverable',
        priority: 'NORMAL',
        attempts: 1,
        instanceId: 'i-1',
        agentId: task.agentId,
        agentHandle: task.agentHandle ?? null,
        customerId: task.customerId ?? null,
        workflowId: null,
        sagaId: null,
        durationMs: update.durationMs ?? null,
        error: update.error ?? null,
        output: update.output ?? null,
        at: new Date().toISOString(),
      },
      { subject: task.taskId },
    );
  }

  /** The submit commands the marketplace sent orchestration for a task id. */
  const commandsFor = (taskId: string) => t.events('orchestration.task.submit', taskId).map((e) => e.data);
  const activitiesOf = (agentId: string) =>
    t
      .events('marketplace.activity.created')
      .map((e) => e.data)
      .filter((d) => d.agentId === agentId);
  const trialEvents = (trialId: string) => t.events('marketplace.trial.updated', trialId).map((e) => e.data);

  return {
    ...server,
    db: t.db,
    clock,
    outside,
    as,
    registration,
    registerAgent,
    registrationsHandled,
    lifecycle,
    health,
    taskUpdate,
    commandsFor,
    activitiesOf,
    trialEvents,
    eventsOf: t.events,
    /** Makes the given activation step fail for this agent's next trials. */
    failStep(agentId: string, step: TrialStepName | null) {
      if (step) failing.set(agentId, step);
      else failing.delete(agentId);
    },
    /** Stops the service; its data stays for a `restartOf` harness with `keepData`. */
    stop: (stopOptions: { keepData?: boolean } = {}) => t.stop(stopOptions),
  };
}

export type Harness = Awaited<ReturnType<typeof startMarketplace>>;

export const TRIAL_FIELDS = `id customerId status trialDays handle agentName businessContext createdAt startedAt endsAt endedAt
  cancelReason activation { name status error } agent { id }
  tasks { id capability request status error deliverable { id title } }
  deliverables { id title content format summary taskId customerId }
  subscription { id status }`;

export const LISTING_FIELDS = `id handle name headline description persona { tagline statusLine } category specialization
  industries tags capabilities version plans { id name monthlyPriceInr features } startingPriceInr trialDays status
  listed rating { average count } retentionRate conversionRate averageResponseMs completedTasks availability
  availableNow popularity listedAt sampleDeliverables { title summary format content } agent { id }`;

export const START_TRIAL = `mutation($input: StartTrialInput!) { startTrial(input: $input) { ${TRIAL_FIELDS} } }`;
export const TRIAL = `query($id: ID!) { trial(id: $id) { ${TRIAL_FIELDS} } }`;
export const LISTING = `query($id: ID!) { listing(id: $id) { ${LISTING_FIELDS} } }`;
