import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { DocumentNode, GraphQLFormattedError, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { getIntrospectionQuery, Kind, parse } from 'graphql';
import { createMetrics, DEFAULT_PAGE_SIZE } from '@waooaw/shared';
import { testDatabase, testKafka, testLogger } from '@waooaw/shared/testing';
import type { Context } from '../context';
import { environmentSchema } from '../environment';
import type { CostedContext } from '../limits';
import { checkLimits, limitsPlugin, MAX_VARIABLE_DEPTH, measureOperation, nestsDeeperThan } from '../limits';
import { createGateway } from '../server';
import { SUPERGRAPH_FILE } from '../subgraphs';

/**
 * Issue 17 point 1: no request can stall the event loop. The gateway's own ApolloServer (the
 * checked-in supergraph, the server's plugins and parse options) answers; no subgraph is running,
 * so an operation the limits let through fails later, when it is fetched, and never with
 * QUERY_TOO_COMPLEX.
 */
describe('request limits', () => {
  const defaults = environmentSchema.parse({});
  let gatewayDb: Awaited<ReturnType<typeof testDatabase>>;
  let gateway: ReturnType<typeof createGateway>;
  /** The API schema of the checked-in supergraph: what the plugins measure against. */
  let apiSchema: GraphQLSchema;

  /** A gateway (not listening: requests go straight to its ApolloServer) with these limits. */
  const startGateway = async (limits: Partial<typeof defaults>, { listen = false } = {}) => {
    const started = createGateway({
      config: {
        ...defaults,
        NODE_ENV: 'test',
        CALLER_TOKEN_SECRET: 'limits-test-caller-secret-at-least-32-chars',
        RATE_LIMIT_BURST: 10_000,
        ...limits,
      },
      urls: { identity: 'http://127.0.0.1:9/graphql' },
      logger: testLogger(),
      metrics: createMetrics('gateway'),
      connection: gatewayDb.connection,
      ...testKafka(),
    });
    // A listening gateway's service starts its ApolloServer itself.
    if (!listen) await started.apollo.start();
    return started;
  };

  beforeAll(async () => {
    gatewayDb = await testDatabase('gateway-limits');
    gateway = await startGateway({
      MAX_QUERY_COST: 500,
      MAX_QUERY_ALIASES: 5,
      MAX_QUERY_DIRECTIVES: 5,
      MAX_QUERY_TOKENS: 400,
    });
    const supergraph = new ApolloGateway({ supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8') });
    apiSchema = (await supergraph.load()).schema;
    await supergraph.stop();
  });
  afterAll(async () => {
    await gateway.apollo.stop();
    await gatewayDb.drop();
  });

  /** POSTs one operation through the gateway's ApolloServer; returns the HTTP status, errors and context. */
  async function post(query: string, variables: Record<string, unknown> = {}, to = gateway) {
    const contextValue: Context = await to.context({ headers: {} });
    const response = await to.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: 'POST',
        headers: new HeaderMap([['content-type', 'application/json']]),
        search: '',
        body: { query, variables },
      },
      context: async () => contextValue,
    });
    const text =
      response.body.kind === 'complete' ? response.body.string : 'incremental delivery is not expected';
    const body = JSON.parse(text) as { errors?: { message: string; extensions: Record<string, unknown> }[] };
    return { status: response.status ?? 200, errors: body.errors ?? [], contextValue };
  }

  const firstOperation = (document: DocumentNode) =>
    document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;

  /** Fragments F0..F{levels-1} on Agent, each spreading the next one twice: 2^levels paths. */
  const fanOut = (levels: number) => {
    const fragments = Array.from(
      { length: levels },
      (_, i) => `fragment F${i} on Agent { id ...F${i + 1} ...F${i + 1} }`,
    );
    return `{ agents(first: 1) { edges { node { ...F0 } } } }\n${fragments.join('\n')}\nfragment F${levels} on Agent { name }`;
  };

  it('measures a 30-level fragment fan-out in linear time and refuses it as too costly', async () => {
    const query = fanOut(30);
    expect(query.length).toBeLessThan(2_000);
    const limits = { maxDepth: 15, maxCost: 2000, maxAliases: 30, maxDirectives: 50 };
    const check = (text: string) => {
      const document = parse(text);
      const started = performance.now();
      const refusal = checkLimits(measureOperation(apiSchema, document, firstOperation(document)), limits);
      return { refusal, elapsed: performance.now() - started };
    };
    check(fanOut(3)); // the first call compiles graphql-js's validation code
    // The best of three: the machine's pauses do not repeat, an exponential walk does (2^30 paths:
    // minutes each time); the linear one takes about a millisecond.
    const runs = [check(query), check(query), check(query)];
    const refusal = runs[0]!.refusal;
    expect(Math.min(...runs.map((r) => r.elapsed))).toBeLessThan(50);
    expect(refusal?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 2000 });

    const refused = await post(fanOut(30));
    expect(refused.status).toBe(400);
    expect(refused.errors[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 500 });
    expect(refused.errors[0]?.message).toMatch(
      /limit is 500\. Ask for fewer items \(first\) or fewer fields/,
    );
  });

  it('refuses variables nested deeper than MAX_VARIABLE_DEPTH with BAD_USER_INPUT, quickly', async () => {
    const nested = (levels: number) => {
      let value: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < levels; i++) value = { a: value };
      return value;
    };
    // Variables are checked before they are coerced to their types: an incomplete input will do here.
    const mutation = 'mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }';
    const started = performance.now();
    const deep = await post(mutation, { input: { metadata: nested(3_000) } });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(deep.status).toBe(400);
    expect(deep.errors[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      maxDepth: MAX_VARIABLE_DEPTH,
    });
    // Within the limit the variables pass this check (and fail later, on the input's missing fields).
    const shallow = await post(mutation, { input: { metadata: nested(MAX_VARIABLE_DEPTH - 3) } });
    expect(shallow.errors.length).toBeGreaterThan(0);
    expect(shallow.errors.some((e) => e.extensions.maxDepth === MAX_VARIABLE_DEPTH)).toBe(false);
    expect(nestsDeeperThan({ a: { b: 1 } }, 2)).toBe(false);
    expect(nestsDeeperThan({ a: { b: { c: 1 } } }, 2)).toBe(true);
  });

  it('costs a list without `first` at the page the resolver returns', async () => {
    const cost = (query: string, variables: Record<string, unknown> = {}) => {
      const document = parse(query);
      return measureOperation(apiSchema, document, firstOperation(document), variables).cost;
    };
    const listings = '{ listings { edges { node { id name handle } } } }';
    const twenty = `{ listings(first: ${DEFAULT_PAGE_SIZE}) { edges { node { id name handle } } } }`;
    expect(cost(listings)).toBe(cost(twenty));
    expect(
      cost('query($n: Int) { listings(first: $n) { edges { node { id name handle } } } }', { n: 20 }),
    ).toBe(cost(twenty));
    // recentTasks declares `first: Int = 10` in the schema: that default is the page.
    expect(cost('{ agents(first: 1) { edges { node { recentTasks { id } } } } }')).toBe(
      cost('{ agents(first: 1) { edges { node { recentTasks(first: 10) { id } } } } }'),
    );

    // The lists whose resolvers page 50 by default say so in their schema, and are costed at it.
    for (const [plain, paged] of [
      ['{ myTickets { id } }', '{ myTickets(first: 50) { id } }'],
      ['{ supportQueue(tier: L1) { id } }', '{ supportQueue(tier: L1, first: 50) { id } }'],
      ['{ myTrials { id } }', '{ myTrials(first: 50) { id } }'],
      ['{ mySubscriptions { id } }', '{ mySubscriptions(first: 50) { id } }'],
    ] as const) {
      expect(cost(plain)).toBe(cost(paged));
      expect(cost(plain)).toBe(1 + 50);
    }

    // Both cost 1 + 20 x (edges 1 + node 1 + 3 fields) = 101: over a limit of 50 alike.
    expect(cost(listings)).toBe(1 + DEFAULT_PAGE_SIZE * 5);
    const tight = { maxDepth: 15, maxCost: 50, maxAliases: 30, maxDirectives: 50 };
    for (const query of [listings, twenty]) {
      const document = parse(query);
      expect(
        checkLimits(measureOperation(apiSchema, document, firstOperation(document)), tight)?.extensions,
      ).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 50 });
    }
  });

  it('counts introspection fields toward depth, and lets the standard introspection query through', async () => {
    // ofType is no list, so graphql-js's own MaxIntrospectionDepthRule lets it nest: the depth limit must.
    let deep = '{ name }';
    for (let i = 0; i < 14; i++) deep = `{ ofType ${deep} }`;
    const refused = await post(`{ __type(name: "Agent") ${deep} }`);
    expect(refused.status).toBe(400);
    expect(refused.errors[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      depth: 16,
      maxDepth: defaults.MAX_QUERY_DEPTH,
    });
    expect(refused.errors[0]?.message).toMatch(/Split it into smaller queries/);

    const standard = await post(getIntrospectionQuery());
    expect(standard.errors).toEqual([]);
    expect(standard.status).toBe(200);
  });

  it('stops parsing at the token limit, before reading the rest of the document', async () => {
    // Valid up to well past the limit, then a syntax error: the parser never gets there.
    const fields = Array.from({ length: 450 }, () => '__typename').join(' ');
    const refused = await post(`{ ${fields} } }}} this is not GraphQL`);
    expect(refused.status).toBe(400);
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors[0]?.extensions).toMatchObject({ code: 'GRAPHQL_PARSE_FAILED', maxTokens: 400 });
    expect(refused.errors[0]?.message).toMatch(/more than 400 tokens, the limit; send a smaller document/);
  });

  it('refuses too many aliases or directives with QUERY_TOO_COMPLEX', async () => {
    const aliases = Array.from({ length: 6 }, (_, i) => `t${i}: agentTemplates { id }`).join(' ');
    const tooManyAliases = await post(`{ ${aliases} }`);
    expect(tooManyAliases.status).toBe(400);
    expect(tooManyAliases.errors[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      aliases: 6,
      maxAliases: 5,
    });
    const included = Array.from({ length: 6 }, () => '... @include(if: true) { id }').join(' ');
    const tooManyDirectives = await post(`{ agentTemplates { ${included} } }`);
    expect(tooManyDirectives.status).toBe(400);
    expect(tooManyDirectives.errors[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      directives: 6,
      maxDirectives: 5,
    });
  });

  it("reports graphql-js's own validation limit as QUERY_TOO_COMPLEX with what to change", async () => {
    // Limits far above the defaults, so these documents get as far as those libraries' checks.
    const lenient = await startGateway({
      MAX_QUERY_TOKENS: 100_000,
      MAX_QUERY_COST: 1e15,
      MAX_QUERY_ALIASES: 10_000,
    });
    try {
      // graphql-js stops validating repeated fields when its budget runs out ("Validation aborted.").
      const repeated = await post(`{ agentTemplates { ${'id '.repeat(3_000)} } }`, {}, lenient);
      expect(repeated.status).toBe(400);
      expect(repeated.errors[0]?.extensions.code).toBe('QUERY_TOO_COMPLEX');
      expect(repeated.errors[0]?.message).toMatch(/Send fewer repeated fields/);
    } finally {
      await lenient.apollo.stop();
    }
  });

  it('refuses over-limit subscribe messages over graphql-ws before they are parsed and walked', async () => {
    const live = await startGateway({ MAX_QUERY_TOKENS: 400 }, { listen: true });
    const base = await live.service.start(0, '127.0.0.1');
    const client = createClient({
      url: `${base.replace('http://', 'ws://')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    /** The extensions of the error a subscribe message is answered with (graphql-ws rejects with them). */
    const refusal = async (query: string) => {
      try {
        for await (const result of client.iterate({ query })) return result;
        return undefined;
      } catch (errors) {
        return (errors as GraphQLFormattedError[])[0]?.extensions;
      }
    };
    try {
      const fragments = Array.from(
        { length: 30 },
        (_, i) => `fragment F${i} on AgentHealthEvent { instanceId ...F${i + 1} ...F${i + 1} }`,
      );
      const bomb = `subscription { agentHealthChanged { ...F0 } } ${fragments.join(' ')} fragment F30 on AgentHealthEvent { handle }`;
      expect(await refusal(bomb)).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
      const long = `subscription { agentHealthChanged { ${'handle '.repeat(450)} } }`;
      expect(await refusal(long)).toEqual({ code: 'GRAPHQL_PARSE_FAILED', maxTokens: 400 });
    } finally {
      await client.dispose();
      await live.service.stop();
    }
  });

  it('leaves the operation cost on the context before a later plugin resolves the operation', async () => {
    // Apollo hands each operation a copy of the context: a plugin listed after the limits (as the
    // rate limiter is) reads what the limits plugin left there.
    const seen: (number | undefined)[] = [];
    const server = new ApolloServer<CostedContext>({
      schema: apiSchema,
      plugins: [
        limitsPlugin({ maxDepth: 15, maxCost: 2000, maxAliases: 30, maxDirectives: 50 }),
        {
          async requestDidStart() {
            return {
              async didResolveOperation({ contextValue }) {
                seen.push(contextValue.queryCost);
              },
            };
          },
        },
      ],
    });
    await server.start();
    await server.executeOperation({ query: '{ agentTemplates { id name } }' }, { contextValue: {} });
    await server.executeOperation({ query: '{ listings { edges { node { id } } } }' }, { contextValue: {} });
    await server.stop();
    // listings: 1 + 20 items x (edges 1 + node 1 + id 1).
    expect(seen).toEqual([3, 1 + DEFAULT_PAGE_SIZE * 3]);
  });
});
