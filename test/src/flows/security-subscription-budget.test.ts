import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ErrorCode } from '@waooaw/shared';
import { pollFor, testDatabase, uniqueName } from '@waooaw/shared/testing';
import { RESOLUTION_BUDGET_METRIC, RESOLUTIONS_METRIC } from '@waooaw/gateway/server';
import { buildActiveAgent, postGraphQL, startTestGateway, subscribeCollecting, tokenFor } from '../gateway';
import { startIdentityAndFactory } from '../platform';

/**
 * Issue 19 point 3: the work of resolving subscription payloads is bounded by limits of its own (a
 * caller's subscriptions over all its sockets, the gateway's resolution concurrency), not by the
 * caller's request rate limit; a caller over its subscription limit is refused when it subscribes.
 */
const RATE_LIMIT_BURST = 3;
const PER_SOCKET = 3;
const PER_CALLER = 4;

type LifecycleEvent = {
  agentLifecycleChanged: { from: string; to: string; agent: { handle: string } | null };
};
/** The lifecycle subscription selecting `fields` of the agent (each selection is resolved on its own). */
const lifecycleSelecting = (fields: string) =>
  `subscription($id: ID) { agentLifecycleChanged(agentId: $id) { from to agent { ${fields} } } }`;
const LIFECYCLE = lifecycleSelecting('handle');
/**
 * One selection per subscription of the caller: subscribers of one selection share its resolution
 * (issue 19, point 1), so only distinct selections make the gateway resolve more than once an event.
 */
const SELECTIONS = ['handle', 'handle name', 'handle version', 'handle kind'];
const TRANSITION = `mutation($id: ID!, $to: LifecycleStatus!) { transitionAgentLifecycle(id: $id, to: $to, reason: "budget") { status } }`;

describe('subscription payloads have a budget of their own, not the caller’s request budget', () => {
  let platform: Awaited<ReturnType<typeof startIdentityAndFactory>>;
  let gatewayDb: Awaited<ReturnType<typeof testDatabase>>;
  /** Where the test builds agents and moves them: limits that the setup's own requests fit. */
  let setup: Awaited<ReturnType<typeof startTestGateway>>;
  /** Where the subscribers are: a burst of RATE_LIMIT_BURST and (next to) no refill. */
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  const clients: Client[] = [];

  beforeAll(async () => {
    platform = await startIdentityAndFactory();
    gatewayDb = await testDatabase('gateway-subscription-budget');
    const common = { urls: platform.urls, callerSecret: platform.secret, connection: gatewayDb.connection };
    setup = await startTestGateway(common);
    gateway = await startTestGateway({
      ...common,
      config: {
        RATE_LIMIT_BURST,
        RATE_LIMIT_PER_MINUTE: 1,
        WS_MAX_SUBSCRIPTIONS_PER_SOCKET: PER_SOCKET,
        WS_MAX_SUBSCRIPTIONS_PER_CALLER: PER_CALLER,
        // Fewer than the resolutions each event causes: they wait their turn, and all get through.
        SUBSCRIPTION_RESOLVE_CONCURRENCY: 2,
      },
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
  });
  afterAll(async () => {
    await gateway.service.stop();
    await setup.service.stop();
    await gatewayDb.drop();
    await platform.stop();
  });

  /** A graphql-ws client of the budget gateway, connected once `connected` resolves. */
  function connect(token: string) {
    let onConnected: () => void = () => undefined;
    const connected = new Promise<void>((resolve) => (onConnected = resolve));
    const client = createClient({
      url: gateway.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: false,
      on: { connected: () => onConnected() },
    });
    clients.push(client);
    return { client, connected };
  }

  const subscribe = (client: Client, query = LIFECYCLE, variables: Record<string, unknown> = {}) =>
    subscribeCollecting<LifecycleEvent>(client, query, variables);
  type Subscription = ReturnType<typeof subscribe>;

  /** Subscribes `count` times on `client` (to `queries[i]`, else LIFECYCLE) and waits until every one hears its feed. */
  async function subscribeListening(
    client: Client,
    count: number,
    variables: Record<string, unknown> = {},
    queries: readonly string[] = [],
  ) {
    const listening = await gateway.whenListening(count);
    const subscriptions = Array.from({ length: count }, (_, i) =>
      subscribe(client, queries[i] ?? LIFECYCLE, variables),
    );
    await listening();
    expect(subscriptions.flatMap((s) => s.failed)).toEqual([]);
    return subscriptions;
  }

  /** Waits for the subscription to be refused, and answers its one error. */
  async function refusal(subscription: Subscription) {
    const [errors] = await pollFor(() => subscription.failed.length > 0 && subscription.failed, {
      what: 'the subscription to be refused',
    });
    expect(errors).toHaveLength(1);
    return errors![0]!;
  }

  /**
   * Subscribes on `client` until the gateway takes it: a completed operation gives its place back
   * once its stream has wound down, which the client is not told of.
   */
  async function subscribeOnceThereIsRoom(client: Client): Promise<Subscription> {
    return pollFor(
      async () => {
        const before = await gateway.listening();
        const attempt = subscribe(client);
        const outcome = await pollFor(
          async () =>
            attempt.failed.length > 0
              ? 'refused'
              : (await gateway.listening()) > before
                ? 'listening'
                : undefined,
          { what: 'the subscription to be taken or refused' },
        );
        if (outcome === 'listening') return attempt;
        expect(attempt.failed[0]?.[0]?.extensions?.code).toBe(ErrorCode.TOO_MANY_SUBSCRIPTIONS);
        return undefined;
      },
      { what: 'room for one more subscription' },
    );
  }

  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = (await gateway.registry.getSingleMetric(name)?.get())?.values ?? [];
    return values
      .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
      .reduce((sum, v) => sum + v.value, 0);
  };

  it('delivers every payload of a caller whose payload resolutions exceed its rate-limit burst, and leaves its budget untouched', async () => {
    const operator = await tokenFor(['operator'], uniqueName('ops-budget'));
    const { handle, agentId } = await buildActiveAgent(setup.httpUrl, operator, 'wow-subbudget');
    const subscriber = await tokenFor(['operator'], uniqueName('ops-subscriber'));
    const sockets = [connect(subscriber), connect(subscriber)];
    await Promise.all(sockets.map((s) => s.connected));
    const queries = SELECTIONS.map(lifecycleSelecting);
    const subscriptions = [
      ...(await subscribeListening(
        sockets[0]!.client,
        PER_SOCKET,
        { id: agentId },
        queries.slice(0, PER_SOCKET),
      )),
      ...(await subscribeListening(
        sockets[1]!.client,
        PER_CALLER - PER_SOCKET,
        { id: agentId },
        queries.slice(PER_SOCKET),
      )),
    ];
    const resolvedBefore = await metric(RESOLUTIONS_METRIC);

    // Each selection is resolved on its own: at least one gateway query per selection (events that
    // come together may share one), PER_CALLER at the least, over the burst.
    expect(SELECTIONS).toHaveLength(PER_CALLER);
    expect(PER_CALLER).toBeGreaterThan(RATE_LIMIT_BURST);
    const moves = ['SUSPENDED', 'ACTIVE', 'SUSPENDED'] as const;
    for (const to of moves) {
      const moved = await postGraphQL(setup.httpUrl, TRANSITION, { id: agentId, to }, operator);
      expect(moved.body.errors).toBeUndefined();
    }
    // The agent's own activation event may still be on its way: wait for the moves made here.
    const ours = (s: Subscription) =>
      s.events.filter((e) =>
        [e.data?.agentLifecycleChanged.from, e.data?.agentLifecycleChanged.to].includes('SUSPENDED'),
      );
    await pollFor(() => subscriptions.every((s) => ours(s).length === moves.length), {
      what: `each subscription to hear the ${moves.length} moves`,
    });
    for (const s of subscriptions) {
      expect(ours(s)).toEqual(
        moves.map((to, i) => ({
          data: {
            agentLifecycleChanged: {
              from: i === 0 ? 'ACTIVE' : moves[i - 1],
              to,
              agent: expect.objectContaining({ handle }) as unknown,
            },
          },
        })),
      );
      expect(s.events.filter((e) => e.errors)).toEqual([]);
      expect(s.failed).toEqual([]);
    }
    // Every resolution went through the budget, which is idle again.
    expect((await metric(RESOLUTIONS_METRIC)) - resolvedBefore).toBeGreaterThanOrEqual(PER_CALLER);
    await pollFor(async () => (await metric(RESOLUTION_BUDGET_METRIC, { state: 'running' })) === 0, {
      what: 'the resolutions to finish',
    });
    expect(await metric(RESOLUTION_BUDGET_METRIC, { state: 'queued' })).toBe(0);

    // The caller's request budget is whole: exactly a burst of requests, then RATE_LIMITED.
    for (let i = 0; i < RATE_LIMIT_BURST; i++) {
      const answered = await postGraphQL(gateway.httpUrl, '{ __typename }', {}, subscriber);
      expect(answered).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    }
    const limited = await postGraphQL(gateway.httpUrl, '{ __typename }', {}, subscriber);
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0]?.extensions.code).toBe(ErrorCode.RATE_LIMITED);
  });

  it(`refuses a caller's subscription beyond ${PER_CALLER} over all its sockets, and gives places back as operations end`, async () => {
    const caller = await tokenFor(['operator'], uniqueName('ops-many'));
    const [a, b] = [connect(caller), connect(caller)];
    await Promise.all([a.connected, b.connected]);

    // Operations that fail validation hold no place (else not all of the ones below would fit). One
    // at a time: operations arriving together each hold a place until they fail.
    for (let i = 0; i <= PER_CALLER; i++) {
      const invalid = subscribe(b.client, 'subscription { agentLifecycleChanged { noSuchField } }');
      expect((await refusal(invalid)).message).toMatch(/Cannot query field "noSuchField"/);
    }

    const onA = await subscribeListening(a.client, PER_SOCKET);
    const onB = await subscribeListening(b.client, PER_CALLER - PER_SOCKET);
    // b runs fewer operations than a socket may: the caller's limit refuses this one.
    const refused = await refusal(subscribe(b.client));
    expect(refused.extensions).toEqual({
      code: ErrorCode.TOO_MANY_SUBSCRIPTIONS,
      limit: PER_CALLER,
      scope: 'caller',
    });
    expect(refused.message).toMatch(
      new RegExp(`at most ${PER_CALLER} at once per caller, over all its sockets; complete one`),
    );
    expect([...onA, ...onB].flatMap((s) => s.failed)).toEqual([]);

    // Another caller is not affected.
    const other = connect(await tokenFor(['operator'], uniqueName('ops-other')));
    await other.connected;
    await subscribeListening(other.client, 1);

    // Completing one gives its place back: one more fits, and no more than that.
    onA[0]!.dispose();
    await subscribeOnceThereIsRoom(b.client);
    expect((await refusal(subscribe(b.client))).extensions?.code).toBe(ErrorCode.TOO_MANY_SUBSCRIPTIONS);

    // Closing a socket gives back all it held: b's two are left, so two more fit on a new socket.
    await a.client.dispose();
    const c = connect(caller);
    await c.connected;
    for (let i = 0; i < PER_CALLER - 2; i++) await subscribeOnceThereIsRoom(c.client);
    expect((await refusal(subscribe(c.client))).extensions?.code).toBe(ErrorCode.TOO_MANY_SUBSCRIPTIONS);
  });
});
