import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { marketplaceEvents } from '@waooaw/shared';
import { connectTestBus, pollFor, testDatabase } from '@waooaw/shared/testing';
import { postGraphQL, startTestGateway, tokenFor } from '../gateway';
import { SECRET, startDiscovery, startMarketplace, startOrchestration } from '../platform';

/*
 * Business figures through the gateway: one agent's performance joined from the marketplace
 * (rating, retention), orchestration (attempts, run times, retries) and discovery (breaker trips),
 * over records written straight into each service's database, the expected numbers worked out by
 * hand; and businessFiguresChanged heard by whom it concerns. The window is recent (10 to 2 days
 * ago), so no sweeper forgets the records.
 */
const DAY = 86_400_000;
const START = Math.floor(Date.now() / DAY) * DAY - 10 * DAY;
const at = (day: number, ms = 0) => new Date(START + day * DAY + ms);
const SINCE = at(0).toISOString();
const UNTIL = at(8).toISOString();
const AGENT = `agent-${randomUUID()}`;

const attempt = (number: number, outcome: string, durationMs: number, endedAt: Date) => ({
  number,
  agentId: AGENT,
  outcome,
  durationMs,
  endedAt,
});

describe('business figures through the gateway', () => {
  let discovery: Awaited<ReturnType<typeof startDiscovery>>;
  let orchestration: Awaited<ReturnType<typeof startOrchestration>>;
  let marketplace: Awaited<ReturnType<typeof startMarketplace>>;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let gatewayDb: Awaited<ReturnType<typeof testDatabase>>;
  let bus: Awaited<ReturnType<typeof connectTestBus>>;
  let operator: string;
  let customer: string;

  beforeAll(async () => {
    discovery = await startDiscovery();
    orchestration = await startOrchestration();
    marketplace = await startMarketplace();
    gatewayDb = await testDatabase('gateway-figures');
    gateway = await startTestGateway({
      urls: { discovery: discovery.url, orchestration: orchestration.url, marketplace: marketplace.url },
      callerSecret: SECRET,
      connection: gatewayDb.connection,
    });
    bus = await connectTestBus('marketplace');
    [operator, customer] = await Promise.all([
      tokenFor(['operator'], 'op-figures'),
      tokenFor(['customer'], 'cust-figures'),
    ]);
    // Marketplace: reviews of 4 and 5 stars; subscription S1 active, S2 cancelled on day 5.
    await marketplace.models.reviews.collection.insertMany([
      { _id: `${AGENT}|c1`, agentId: AGENT, customerId: 'c1', stars: 4, updatedAt: at(1), createdAt: at(1) },
      { _id: `${AGENT}|c2`, agentId: AGENT, customerId: 'c2', stars: 5, updatedAt: at(2), createdAt: at(2) },
    ] as never[]);
    await marketplace.models.subscriptions.collection.insertMany([
      {
        _id: `S1-${AGENT}`,
        agentId: AGENT,
        trialId: `T1-${AGENT}`,
        startedAt: at(1),
        createdAt: at(1),
        cancelledAt: null,
      },
      {
        _id: `S2-${AGENT}`,
        agentId: AGENT,
        trialId: `T2-${AGENT}`,
        startedAt: at(1),
        createdAt: at(1),
        cancelledAt: at(5),
      },
    ] as never[]);
    // Orchestration: task 1 succeeded in 100 ms; task 2 failed, was retried and succeeded in 300 ms.
    await orchestration.tasks.collection.insertMany([
      {
        _id: `t1-${AGENT}`,
        createdAt: at(1),
        updatedAt: at(1),
        attempts: [attempt(1, 'SUCCEEDED', 100, at(1))],
      },
      {
        _id: `t2-${AGENT}`,
        createdAt: at(2),
        updatedAt: at(2, 1000),
        attempts: [attempt(1, 'FAILED', 50, at(2)), attempt(2, 'SUCCEEDED', 300, at(2, 1000))],
      },
    ] as never[]);
    // Discovery: two trips of the agent's instance.
    await discovery.trips.collection.insertMany([
      {
        _id: `trip-1-${AGENT}`,
        instanceId: 'i-1',
        agentId: AGENT,
        handle: 'h',
        from: 'CLOSED',
        reason: '',
        at: at(3),
      },
      {
        _id: `trip-2-${AGENT}`,
        instanceId: 'i-1',
        agentId: AGENT,
        handle: 'h',
        from: 'HALF_OPEN',
        reason: '',
        at: at(3, 60_000),
      },
    ] as never[]);
  }, 120_000);

  afterAll(async () => {
    await bus.close();
    await gateway.service.stop();
    await marketplace.stop();
    await orchestration.stop();
    await discovery.stop();
    await gatewayDb.drop();
  });

  const PERFORMANCE = `query($agent: ID!, $since: DateTime, $until: DateTime) {
    agentPerformance(agentId: $agent, since: $since, until: $until) {
      agentId rating { average count } subscriptions retainedSubscriptions retentionRate
      attempts succeededAttempts failedAttempts successRate p50RunMs p95RunMs retries
      breakerTrips
    }
  }`;

  it("joins an agent's performance from three subgraphs, for operators only", async () => {
    const { body } = await postGraphQL<{ agentPerformance: Record<string, unknown> }>(
      gateway.httpUrl,
      PERFORMANCE,
      { agent: AGENT, since: SINCE, until: UNTIL },
      operator,
    );
    expect(body.errors).toBeUndefined();
    // Marketplace: (4 + 5) / 2 = 4.5 over 2 reviews; S1 and S2 active in the window, S1 still at its
    // end: 1 / 2 = 0.5. Orchestration: 3 attempts, 2 succeeded (2/3 = 0.6667), run times [100, 300]:
    // p50 = rank ceil(1) = 1 -> 100, p95 = rank ceil(1.9) = 2 -> 300; the failure was retried: 1.
    // Discovery: 2 trips.
    expect(body.data!.agentPerformance).toEqual({
      agentId: AGENT,
      rating: { average: 4.5, count: 2 },
      subscriptions: 2,
      retainedSubscriptions: 1,
      retentionRate: 0.5,
      attempts: 3,
      succeededAttempts: 2,
      failedAttempts: 1,
      successRate: 0.6667,
      p50RunMs: 100,
      p95RunMs: 300,
      retries: 1,
      breakerTrips: 2,
    });
    const refused = await postGraphQL(gateway.httpUrl, PERFORMANCE, { agent: AGENT }, customer);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("refuses a window that is no date as the caller's error, not an internal one", async () => {
    // The gateway's supergraph takes any DateTime literal; the marketplace refuses it with a 400.
    const literal = await postGraphQL(
      gateway.httpUrl,
      `{ conversionFunnel(since: "last tuesday") { total { requested } } }`,
      {},
      operator,
    );
    expect(literal.body.errors).toEqual([
      {
        message: 'DateTime cannot represent an invalid date-time-string last tuesday.',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
    ]);
    const variable = await postGraphQL(
      gateway.httpUrl,
      PERFORMANCE,
      { agent: AGENT, since: 'soon' },
      operator,
    );
    expect(variable.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(variable.body.errors?.[0]?.message).toContain(
      'DateTime cannot represent an invalid date-time-string soon',
    );
  });

  it('signals businessFiguresChanged to staff for every trial and to a customer for their own', async () => {
    const subscribe = async (token: string) => {
      const client = createClient({
        url: gateway.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      const heard: { kind: string; agentId: string; trialId: string | null }[] = [];
      const iterator = client.iterate<{ businessFiguresChanged: (typeof heard)[number] }>({
        query: `subscription($agent: ID) { businessFiguresChanged(agentId: $agent) { kind agentId trialId } }`,
        variables: { agent: AGENT },
      });
      const running = (async () => {
        try {
          for await (const result of iterator)
            if (result.data) heard.push(result.data.businessFiguresChanged);
        } catch {
          // Disposing the client ends the iteration with the socket's close: nothing to collect.
        }
      })();
      return {
        heard,
        close: async () => {
          await client.dispose();
          await running;
        },
      };
    };
    const ready = await gateway.whenListening(2);
    const staff = await subscribe(operator);
    const own = await subscribe(customer);
    await ready();
    const activity = (customerId: string, trialId: string) => ({
      activityId: randomUUID(),
      kind: 'TRIAL_STARTED' as const,
      message: 'A customer started a trial',
      agentId: AGENT,
      handle: 'h',
      category: 'MARKETING' as const,
      customerId,
      trialId,
      deliverableId: null,
      at: new Date().toISOString(),
    });
    await bus.bus.publish(marketplaceEvents.activityCreated, activity('cust-figures', 'trial-mine'));
    await bus.bus.publish(marketplaceEvents.activityCreated, activity('cust-other', 'trial-theirs'));
    await pollFor(() => staff.heard.length === 2, { what: 'the operator to hear both trials' });
    expect(staff.heard.map((e) => e.trialId).sort()).toEqual(['trial-mine', 'trial-theirs']);
    // By then the customer's own event has come too (same feed, earlier); the other never does.
    await pollFor(() => own.heard.length === 1, { what: 'the customer to hear their trial' });
    expect(own.heard).toEqual([{ kind: 'TRIAL_STARTED', agentId: AGENT, trialId: 'trial-mine' }]);
    await Promise.all([staff.close(), own.close()]);
  });
});
