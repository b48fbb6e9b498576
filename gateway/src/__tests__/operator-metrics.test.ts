import { ApolloServer, HeaderMap } from '@apollo/server';
import { Registry } from 'prom-client';
import { createMetrics } from '@waooaw/shared';
import { pollFor, testDatabase, testKafka, testLogger } from '@waooaw/shared/testing';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Context } from '../context';
import { PAYLOAD_RESOLUTION } from '../context';
import { environmentSchema } from '../environment';
import { MAX_OPERATION_NAMES, OPERATION_DURATION_METRIC, operationMetricsPlugin } from '../operation-metrics';
import { createGateway, SUBSCRIPTIONS_ACTIVE_METRIC } from '../server';
import { untilEnd } from '../subscriptions/active';

/** The count of the histogram's observations per label set, as `operation|type|outcome`. */
async function operationCounts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(OPERATION_DURATION_METRIC)!.get();
  const counts: Record<string, number> = {};
  for (const v of metric.values)
    if (v.labels.le === '+Inf')
      counts[`${String(v.labels.operation)}|${String(v.labels.type)}|${String(v.labels.outcome)}`] = v.value;
  return counts;
}

const context = (extra: Partial<Context> = {}): Context => ({
  caller: null,
  requestId: 'r',
  traceparent: '00-00000000000000000000000000000001-0000000000000001-01',
  ip: '127.0.0.1',
  forwardedCaller: () => Promise.resolve('token'),
  ...extra,
});

describe('gateway operation metrics', () => {
  const registry = new Registry();
  const server = new ApolloServer<Context>({
    typeDefs: `type Query { ok: Int, broken: Int, both: Both } type Both { ok: Int, broken: Int } type Mutation { touch: Int }`,
    resolvers: {
      Query: {
        ok: () => 1,
        broken: () => {
          throw new Error('down');
        },
        both: () => ({}),
      },
      Both: {
        ok: () => 1,
        broken: () => {
          throw new Error('down');
        },
      },
      Mutation: { touch: () => 1 },
    },
    plugins: [operationMetricsPlugin(registry)],
  });
  const run = (query: string, extra: Partial<Context> = {}, operationName?: string) =>
    server.executeOperation(
      { query, ...(operationName ? { operationName } : {}) },
      { contextValue: context(extra) },
    );

  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('times each operation by name, type and outcome', async () => {
    await run('query Ok { ok }');
    await run('query Ok { ok }');
    await run('{ ok }');
    await run('mutation Touch { touch }');
    await run('query Broken { broken }');
    await run('query Partial { both { ok broken } }');
    await run('query { nope }');
    await run('query Unparsable {');
    // The gateway's own subscription payload resolutions are counted elsewhere.
    await run('query Payload { ok }', { [PAYLOAD_RESOLUTION]: true });
    expect(await operationCounts(registry)).toEqual({
      'Ok|query|success': 2,
      '(anonymous)|query|success': 1,
      'Touch|mutation|success': 1,
      'Broken|query|partial': 1,
      'Partial|query|partial': 1,
      '(invalid)|unknown|error': 2,
    });
  });

  it('bounds the operation names a client can invent', async () => {
    for (let i = 0; i < MAX_OPERATION_NAMES + 5; i++) await run(`query Name${i} { ok }`);
    await run(`query ${'L'.repeat(65)} { ok }`);
    const names = new Set(Object.keys(await operationCounts(registry)).map((k) => k.split('|')[0]));
    // Ok, Touch, Broken and Partial took places in the test before.
    expect(names.size).toBeLessThanOrEqual(MAX_OPERATION_NAMES + 3);
    expect((await operationCounts(registry))['(other)|query|success']).toBe(10);
  });
});

describe('the gateway registers its operator metrics', () => {
  it('times operations and counts the subscriptions running', async () => {
    const db = await testDatabase('gateway-metrics');
    const metrics = createMetrics('gateway');
    const gateway = createGateway({
      config: {
        ...environmentSchema.parse({}),
        NODE_ENV: 'test',
        CALLER_TOKEN_SECRET: 'metrics-test-caller-secret-at-least-32-chars',
      },
      urls: { identity: 'http://127.0.0.1:9/graphql' },
      logger: testLogger(),
      metrics,
      connection: db.connection,
      ...testKafka(),
    });
    const base = await gateway.service.start(0, '127.0.0.1');
    const client = createClient({
      url: `${base.replace('http://', 'ws://')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      // No subgraph answers here: the operation runs and fails, and is timed all the same.
      await gateway.apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: {
          method: 'POST',
          headers: new HeaderMap([['content-type', 'application/json']]),
          search: '',
          body: { query: 'query Agents { agents(first: 1) { edges { node { id } } } }' },
        },
        context: () => gateway.context({ headers: {} }),
      });
      const counts = await operationCounts(metrics.registry);
      expect(Object.keys(counts).filter((k) => k.startsWith('Agents|query|'))).toHaveLength(1);

      // A subscription counts while it runs, on a public feed (no token needed).
      const active = async () =>
        (await metrics.registry.getSingleMetric(SUBSCRIPTIONS_ACTIVE_METRIC)!.get()).values.find(
          (v) => v.labels.field === 'agentHealthChanged',
        )?.value ?? 0;
      const errors: unknown[] = [];
      const dispose = client.subscribe(
        { query: 'subscription { agentHealthChanged { handle } }' },
        { next: () => undefined, error: (e) => void errors.push(e), complete: () => undefined },
      );
      await pollFor(async () => (await active()) === 1, { what: 'the subscription counted' });
      dispose();
      await pollFor(async () => (await active()) === 0, { what: 'the completed subscription uncounted' });
      expect(errors).toEqual([]);
    } finally {
      await client.dispose();
      await gateway.service.stop();
      await db.drop();
    }
  });
});

describe('untilEnd: a live subscription is counted until its stream ends, however it ends', () => {
  async function* values(n: number) {
    for (let i = 0; i < n; i++) yield await Promise.resolve(i);
  }

  it('ends once when read to its end, once when returned early, and passes every value through', async () => {
    let ended = 0;
    const read: number[] = [];
    for await (const v of untilEnd(values(3), () => ended++)) read.push(v);
    expect(read).toEqual([0, 1, 2]);
    expect(ended).toBe(1);

    const early = untilEnd(values(3), () => ended++);
    expect(await early.next()).toEqual({ done: false, value: 0 });
    await early.return!();
    await early.return!();
    expect(ended).toBe(2);
    expect(await early.next()).toEqual({ done: true, value: undefined });
    expect(ended).toBe(2);
  });
});
