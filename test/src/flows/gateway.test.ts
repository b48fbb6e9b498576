import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { connectMongo, createEventBus, createMetrics, identityEvents } from '@waooaw/shared';
import { pollFor, testDatabase, testInfra, testKafka, testLogger, uniqueName } from '@waooaw/shared/testing';
import { createServer as createFactory } from '@waooaw/factory/server';
import { signDevToken } from '@waooaw/gateway/server';
import type { GatewayConfig } from '../gateway';
import { buildActiveAgent, postGraphQL, startTestGateway, TEST_JWT, tokenFor } from '../gateway';
import { startIdentityAndFactory } from '../platform';

const JWT = TEST_JWT;
const sample = readFileSync(
  path.resolve(__dirname, '../../../agents/definitions/wow-care-content.yaml'),
  'utf8',
);

describe('the gateway in front of identity and factory', () => {
  let platform: Awaited<ReturnType<typeof startIdentityAndFactory>>;
  let gatewayDb: Awaited<ReturnType<typeof testDatabase>>;
  const gateways: { service: { stop(): Promise<void> }; url: string }[] = [];
  let url: string;

  async function startGateway(config: Partial<GatewayConfig> = {}) {
    const started = await startTestGateway({
      urls: platform.urls,
      callerSecret: platform.secret,
      connection: gatewayDb.connection,
      config,
    });
    gateways.push({ service: started.service, url: started.httpUrl });
    return started.httpUrl;
  }

  const token = tokenFor;
  const gql = <T>(query: string, variables: Record<string, unknown> = {}, auth?: string, endpoint = url) =>
    postGraphQL<T>(endpoint, query, variables, auth);

  beforeAll(async () => {
    platform = await startIdentityAndFactory();
    gatewayDb = await testDatabase('gateway');
    url = await startGateway();
  });
  afterAll(async () => {
    for (const g of gateways) await g.service.stop();
    await gatewayDb.drop();
    await platform.stop();
  });

  const SUBMIT = `mutation($y: String!) { submitAgentDefinition(yaml: $y, activate: true) { id status } }`;

  async function buildAgent() {
    const handle = uniqueName('wow-gw').toLowerCase();
    const operator = await token(['operator'], 'ops-1');
    const submitted = await gql<{ submitAgentDefinition: { id: string } }>(
      SUBMIT,
      { y: sample.replace('handle: wow-care-content', `handle: ${handle}`) },
      operator,
    );
    expect(submitted.body.errors).toBeUndefined();
    const id = submitted.body.data!.submitAgentDefinition.id;
    await pollFor(
      async () =>
        (
          await gql<{ agentBuild: { status: string } }>(
            `query($id: ID!) { agentBuild(id: $id) { status } }`,
            { id },
          )
        ).body.data?.agentBuild.status === 'SUCCEEDED',
      {
        what: 'the build to succeed',
      },
    );
    return handle;
  }

  it('answers a cross-subgraph query: identity’s agent with the factory’s definition, anonymously', async () => {
    const handle = await buildAgent();
    const result = await gql<{
      agentByHandle: { name: string; status: string; definition: { version: string; template: string } };
    }>(`query($h: String!) { agentByHandle(handle: $h) { name status definition { version template } } }`, {
      h: handle,
    });
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.agentByHandle).toEqual({
      name: 'WowCare Content',
      status: 'ACTIVE',
      definition: { version: '1.0.0', template: 'marketing' },
    });
  });

  it('needs a role for mutations, refuses bad tokens, and limits depth and cost', async () => {
    const anonymous = await gql(SUBMIT, { y: sample });
    expect(anonymous.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const customer = await gql(SUBMIT, { y: sample }, await token(['customer']));
    expect(customer.body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const forged = await gql(
      '{ agentTemplates { id } }',
      {},
      await signDevToken(
        { sub: 'x', roles: ['admin'] },
        { ...JWT, JWT_SECRET: 'not-the-gateway-secret-but-long-enough' },
      ),
    );
    expect(forged.status).toBe(401);
    expect(forged.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');

    const tight = await startGateway({ MAX_QUERY_DEPTH: 3, MAX_QUERY_COST: 50 });
    const deep = await gql('{ agents { edges { node { capabilities { name } } } } }', {}, undefined, tight);
    expect(deep.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      depth: 5,
      maxDepth: 3,
    });
    const costly = await gql('{ agents(first: 100) { totalCount edges { cursor } } }', {}, undefined, tight);
    expect(costly.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 50 });
    expect((await gql('{ agentTemplates { id } }', {}, undefined, tight)).body.errors).toBeUndefined();
  });

  it('rate-limits per caller', async () => {
    const limited = await startGateway({ RATE_LIMIT_BURST: 3, RATE_LIMIT_PER_MINUTE: 6 });
    const mine = await token(['customer'], 'busy-user');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await gql('{ agentTemplates { id } }', {}, mine, limited));
    expect(results.slice(0, 3).every((r) => r.status === 200 && !r.body.errors)).toBe(true);
    expect(results[3]!.status).toBe(429);
    expect(results[3]!.body.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterSeconds: 10,
    });
    // Another caller is not affected.
    expect(
      (await gql('{ agentTemplates { id } }', {}, await token(['customer'], 'calm-user'), limited)).status,
    ).toBe(200);
  });

  it('audits every mutation (who, what, when, outcome), readable by admins only', async () => {
    const handle = await buildAgent();
    await gql(SUBMIT, { y: sample }, await token(['customer'], 'curious-customer'));
    const admin = await token(['admin'], 'root');
    const AUDIT = `query($f: AuditFilter) { auditLog(filter: $f, first: 5) { totalCount edges { node {
      actor roles operationName mutation arguments outcome errorCodes requestId at } } } }`;
    type Entry = {
      actor: string;
      roles: string[];
      mutation: string;
      arguments: { yaml: string };
      outcome: string;
      errorCodes: string[];
      requestId: string;
    };

    const succeeded = await gql<{ auditLog: { edges: { node: Entry }[] } }>(
      AUDIT,
      { f: { actor: 'ops-1', mutation: 'submitAgentDefinition', outcome: 'SUCCEEDED' } },
      admin,
    );
    expect(succeeded.body.errors).toBeUndefined();
    const mine = succeeded.body
      .data!.auditLog.edges.map((e) => e.node)
      .find((n) => n.arguments.yaml.includes(handle));
    expect(mine).toMatchObject({
      actor: 'ops-1',
      roles: ['operator'],
      mutation: 'submitAgentDefinition',
      outcome: 'SUCCEEDED',
      errorCodes: [],
    });
    expect(mine!.arguments.yaml).toMatch(/\.\.\. \(\d+ chars\)$/); // a long YAML is shortened, not stored whole

    const failed = await gql<{ auditLog: { edges: { node: Entry }[] } }>(
      AUDIT,
      { f: { actor: 'curious-customer' } },
      admin,
    );
    expect(failed.body.data!.auditLog.edges[0]?.node).toMatchObject({
      outcome: 'FAILED',
      errorCodes: ['FORBIDDEN'],
      mutation: 'submitAgentDefinition',
    });

    expect((await gql(AUDIT, {}, await token(['operator']))).body.errors?.[0]?.extensions.code).toBe(
      'FORBIDDEN',
    );
    expect((await gql(AUDIT, {})).body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('serves Apollo Sandbox on GET in development', async () => {
    const res = await fetch(url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/sandbox/i);
  });

  // Stops the factory: keep it last.
  it('serves partial data naming the subgraph while one is down, and recovers when it is back', async () => {
    const handle = await buildAgent();
    const query = `query($h: String!) { agentByHandle(handle: $h) { handle definition { version } } }`;
    const factoryPort = Number(new URL(platform.urls.factory).port);
    await platform.factory.service.stop();

    const partial = await gql<{ agentByHandle: { handle: string; definition: null } }>(query, { h: handle });
    expect(partial.body.data?.agentByHandle).toEqual({ handle, definition: null });
    expect(partial.body.errors?.[0]?.extensions).toEqual({
      code: 'SUBGRAPH_UNAVAILABLE',
      serviceName: 'factory',
    });
    expect(partial.body.errors?.[0]?.message).toContain('factory service is unavailable');
    expect(
      (
        await gql<{ agentByHandle: { handle: string } }>(
          `query($h: String!) { agentByHandle(handle: $h) { handle } }`,
          { h: handle },
        )
      ).body.errors,
    ).toBeUndefined();
    expect((await fetch(url.replace('/graphql', '/health/ready'))).status).toBe(503);

    // The factory comes back on the same port with its own data.
    const logger = testLogger();
    const connection = await connectMongo({
      url: testInfra().mongoUrl,
      dbName: platform.factoryDbName,
      logger,
    });
    const restarted = createFactory({
      config: {
        CALLER_TOKEN_SECRET: platform.secret,
        NODE_ENV: 'test',
        FACTORY_LOAD_CATALOGUE: false,
        FACTORY_CATALOGUE_DIR: '',
      },
      logger,
      metrics: createMetrics('factory'),
      connection,
      bus: createEventBus({ ...testKafka(), service: 'factory', logger }),
      consumerGroupPrefix: `${uniqueName('restart')}.`,
    });
    await restarted.service.start(factoryPort, '127.0.0.1');
    try {
      const full = await gql<{ agentByHandle: { definition: { version: string } } }>(query, { h: handle });
      expect(full.body.errors).toBeUndefined();
      expect(full.body.data?.agentByHandle.definition).toEqual({ version: '1.0.0' });
      await pollFor(async () => (await fetch(url.replace('/graphql', '/health/ready'))).status === 200, {
        what: 'the gateway to be ready again',
      });
    } finally {
      await restarted.service.stop();
    }
  });
});

describe('subscriptions through the gateway (graphql-ws, fed by Kafka)', () => {
  let platform: Awaited<ReturnType<typeof startIdentityAndFactory>>;
  let gatewayDb: Awaited<ReturnType<typeof testDatabase>>;
  let gateway: { stop(): Promise<void> };
  let httpUrl: string;
  let wsUrl: string;
  let whenListening: Awaited<ReturnType<typeof startTestGateway>>['whenListening'];

  beforeAll(async () => {
    platform = await startIdentityAndFactory();
    gatewayDb = await testDatabase('gateway-ws');
    const started = await startSubscriptionGateway(1000);
    gateway = started.service;
    httpUrl = started.httpUrl;
    wsUrl = started.wsUrl;
    whenListening = started.whenListening;
  });

  const startSubscriptionGateway = (maxBuffered: number) =>
    startTestGateway({
      urls: platform.urls,
      callerSecret: platform.secret,
      connection: gatewayDb.connection,
      config: { SUBSCRIPTION_MAX_BUFFERED: maxBuffered },
    });
  afterAll(async () => {
    await gateway.stop();
    await gatewayDb.drop();
    await platform.stop();
  });

  const post = async <T>(query: string, variables: Record<string, unknown>, auth?: string) =>
    (await postGraphQL<T>(httpUrl, query, variables, auth)).body;

  const SUBSCRIPTION = `subscription($id: ID, $after: String) { agentLifecycleChanged(agentId: $id, after: $after) {
    cursor from to actor reason agent { handle status definition { version template } } } }`;
  const TRANSITION = `mutation($id: ID!, $to: LifecycleStatus!) { transitionAgentLifecycle(id: $id, to: $to, reason: "e2e") { status } }`;
  type Event = {
    cursor: string;
    from: string;
    to: string;
    actor: string;
    agent: { handle: string; status: string; definition: { version: string } };
  };

  const activeAgent = (operator: string) => buildActiveAgent(httpUrl, operator, 'wow-sub');

  /** Collects a subscription's events until `count` have arrived. */
  async function receive(
    client: ReturnType<typeof createClient>,
    variables: Record<string, unknown>,
    count: number,
    onSubscribed?: () => Promise<void>,
  ) {
    const iterator = client.iterate<{ agentLifecycleChanged: Event }>({ query: SUBSCRIPTION, variables });
    const events: Event[] = [];
    const pending = (async () => {
      for await (const result of iterator) {
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        events.push(result.data!.agentLifecycleChanged);
        if (events.length === count) break;
      }
    })();
    await onSubscribed?.();
    await pending;
    return events;
  }

  it('delivers an event caused by a mutation, with fields from identity and factory, and replays what a client missed', async () => {
    const operator = await signDevToken({ sub: 'ops-ws', roles: ['operator'] }, JWT);
    const { handle, agentId } = await activeAgent(operator);
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${operator}` },
      retryAttempts: 0,
    });
    try {
      const listening = await whenListening();
      const [first] = await receive(client, { id: agentId }, 1, async () => {
        await listening(); // the transition's event is published once the subscription hears the feed
        expect((await post(TRANSITION, { id: agentId, to: 'SUSPENDED' }, operator)).errors).toBeUndefined();
      });
      expect(first).toMatchObject({
        from: 'ACTIVE',
        to: 'SUSPENDED',
        actor: 'ops-ws',
        agent: { handle, status: 'SUSPENDED', definition: { version: '1.0.0' } },
      });

      // While nobody listens, two more transitions happen ...
      await post(TRANSITION, { id: agentId, to: 'ACTIVE' }, operator);
      await post(TRANSITION, { id: agentId, to: 'SUSPENDED' }, operator);
      // ... and a client resuming after the first event's cursor gets both, in order, then live ones:
      // the transition made once it resubscribed arrives exactly once, after them.
      const resumed = await receive(client, { id: agentId, after: first!.cursor }, 3, async () => {
        await post(TRANSITION, { id: agentId, to: 'ACTIVE' }, operator);
      });
      expect(resumed.map((e) => [e.from, e.to])).toEqual([
        ['SUSPENDED', 'ACTIVE'],
        ['ACTIVE', 'SUSPENDED'],
        ['SUSPENDED', 'ACTIVE'],
      ]);
      expect(new Set(resumed.map((e) => e.cursor)).size).toBe(3);
    } finally {
      await client.dispose();
    }
  });

  it('closes a subscriber that falls behind, with a reason', async () => {
    const operator = await signDevToken({ sub: 'ops-slow', roles: ['operator'] }, JWT);
    const { handle, agentId } = await activeAgent(operator);
    const slow = await startSubscriptionGateway(1);
    const client = createClient({
      url: slow.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${operator}` },
      retryAttempts: 0,
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      client.on('closed', (event) => resolve(event as { code: number; reason: string })),
    );
    try {
      const listening = await slow.whenListening();
      const consuming = receive(client, { id: agentId }, 1000).catch(() => undefined);
      await listening();
      // A burst for this agent, faster than each event's payload (a query through the gateway) is resolved.
      for (let i = 0; i < 30; i++) {
        await platform.identity.bus.publish(
          identityEvents.agentLifecycleChanged,
          {
            agentId,
            handle,
            kind: 'CUSTOMER',
            category: 'MARKETING',
            from: 'ACTIVE',
            to: 'SUSPENDED',
            actor: 'burst',
            reason: `burst ${i}`,
            at: new Date().toISOString(),
          },
          { subject: agentId },
        );
      }
      const event = await closed;
      expect(event.code).toBe(4429);
      expect(event.reason).toMatch(/too slow/);
      await consuming;
    } finally {
      await client.dispose();
      await slow.service.stop();
    }
  });

  it('refuses a connection whose token does not verify', async () => {
    const forged = await signDevToken(
      { sub: 'x', roles: ['admin'] },
      { ...JWT, JWT_SECRET: 'not-the-gateway-secret-but-long-enough' },
    );
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${forged}` },
      retryAttempts: 0,
    });
    try {
      await expect(receive(client, {}, 1)).rejects.toMatchObject({ code: 4403 });
    } finally {
      await client.dispose();
    }
  });
});
