import { parse } from 'graphql';
import { Schema } from 'mongoose';
import type { Component, RequestContext } from '../index';
import {
  busComponent,
  createEventBus,
  createMetrics,
  createRequestContext,
  createService,
  createSubgraphServer,
  mongoComponent,
  requireRole,
  signCallerToken,
} from '../index';
import { testDatabase, testKafka, testLogger } from '../testing';

const SECRET = 'test-caller-token-secret-of-at-least-32-chars';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Note @key(fields: "id") { id: ID! title: String! }
  type Query { note(id: ID!): Note  whoami: String! }
  type Mutation { createNote(id: ID!, title: String!): Note! }
`);

describe('a service built from the shared bootstrap and subgraph factory', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  beforeAll(async () => {
    db = await testDatabase('service');
  });
  afterAll(() => db.drop());

  async function startService(extra: Component[] = []) {
    const logger = testLogger();
    const Note = db.connection.model(
      'Note',
      new Schema({ _id: String, title: { type: String, required: true, unique: true } }),
    );
    await Note.init();
    const server = createSubgraphServer<RequestContext>({
      typeDefs,
      logger,
      resolvers: {
        Query: {
          note: (_: unknown, { id }: { id: string }) => Note.findById(id).lean().exec(),
          whoami: (_: unknown, __: unknown, ctx: RequestContext) =>
            requireRole(ctx.caller, 'operator', 'admin').sub,
        },
        Mutation: {
          createNote: async (_: unknown, args: { id: string; title: string }, ctx: RequestContext) => {
            requireRole(ctx.caller, 'operator');
            return (await Note.create({ _id: args.id, title: args.title })).toObject();
          },
        },
        Note: {
          id: (note: { _id: string }) => note._id,
          __resolveReference: (ref: { id: string }) => Note.findById(ref.id).lean().exec(),
        },
      },
    });
    const bus = createEventBus({ ...testKafka(), service: 'svc-test', logger });
    const service = createService<RequestContext>({
      name: 'svc-test',
      logger,
      metrics: createMetrics('svc-test'),
      graphql: { server, context: (req) => createRequestContext(req, logger, SECRET, 'svc-test') },
      components: [mongoComponent(db.connection), busComponent(bus), ...extra],
    });
    const url = await service.start(0, '127.0.0.1', 0);
    return { service, url, server };
  }

  const gql = async (url: string, query: string, variables: object = {}, token?: string) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { 'x-waooaw-caller': token } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        data?: Record<string, unknown>;
        errors?: { message: string; extensions: { code: string } }[];
      },
    };
  };

  it('serves health, metrics and GraphQL with typed errors, then shuts down in order', async () => {
    const stopped: string[] = [];
    const worker: Component = {
      name: 'worker',
      stage: 'work',
      ready: () => true,
      stop: async () => void stopped.push('worker'),
    };
    const { service, url, server } = await startService([worker]);
    try {
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { accepting: true, mongo: true, kafka: true, worker: true },
      });

      const operator = await signCallerToken({ sub: 'op-1', roles: ['operator'] }, SECRET, 'svc-test');
      const created = await gql(
        url,
        'mutation($id: ID!, $t: String!) { createNote(id: $id, title: $t) { id title } }',
        { id: 'n1', t: 'Hello' },
        operator,
      );
      expect(created.body.errors).toBeUndefined();
      expect(created.body.data).toEqual({ createNote: { id: 'n1', title: 'Hello' } });

      const duplicate = await gql(
        url,
        'mutation { createNote(id: "n2", title: "Hello") { id } }',
        {},
        operator,
      );
      expect(duplicate.body.errors?.[0]?.extensions.code).toBe('CONFLICT');
      expect(duplicate.body.errors?.[0]?.message).toContain('Hello');

      const anonymous = await gql(url, 'mutation { createNote(id: "n3", title: "Anon") { id } }');
      expect(anonymous.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      // Not through the gateway: refused even for a read; an anonymous caller the gateway vouched for may read.
      const direct = await gql(url, '{ note(id: "n1") { title } }');
      expect(direct.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      expect(direct.body.errors?.[0]?.message).toContain('through the gateway');
      const viaGateway = await gql(
        url,
        '{ note(id: "n1") { title } }',
        {},
        await signCallerToken(null, SECRET, 'svc-test'),
      );
      expect(viaGateway.body.data).toEqual({ note: { title: 'Hello' } });
      const anonymousWrite = await gql(
        url,
        'mutation { createNote(id: "n4", title: "Anon") { id } }',
        {},
        await signCallerToken(null, SECRET, 'svc-test'),
      );
      expect(anonymousWrite.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      const customer = await signCallerToken({ sub: 'c-1', roles: ['customer'] }, SECRET, 'svc-test');
      const forbidden = await gql(url, '{ whoami }', {}, customer);
      expect(forbidden.body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const forged = await signCallerToken(
        { sub: 'evil', roles: ['admin'] },
        'a-different-secret-also-32-characters-long',
        'svc-test',
      );
      const rejected = await gql(url, '{ whoami }', {}, forged);
      expect(rejected.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      // A token the gateway signed for another subgraph (say, captured from its traffic) is refused here.
      const forOtherSubgraph = await signCallerToken(
        { sub: 'op-1', roles: ['operator'] },
        SECRET,
        'identity',
      );
      const replayed = await gql(url, '{ whoami }', {}, forOtherSubgraph);
      expect(replayed.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      expect(replayed.body.errors?.[0]?.message).toContain('not for the svc-test service');
      expect((await gql(url, '{ whoami }', {}, operator)).body.data).toEqual({ whoami: 'op-1' });

      const badJson = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query": ',
      });
      expect(badJson.status).toBe(400);
      expect(
        ((await badJson.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
      ).toBe('BAD_REQUEST');

      // Federation entity resolution through the same server, in process.
      const entities = await server.executeOperation<{ _entities: { title: string }[] }>(
        {
          query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Note { title } } }',
          variables: { r: [{ __typename: 'Note', id: 'n1' }] },
        },
        { contextValue: { caller: null, requestId: 'r', traceparent: '', logger: testLogger() } },
      );
      expect(entities.body.kind === 'single' && entities.body.singleResult.data?._entities).toEqual([
        { title: 'Hello' },
      ]);

      const metrics = await (await fetch(service.metricsUrl!)).text();
      expect(metrics).toMatch(/waooaw_http_request_duration_seconds_count\{[^}]*route="graphql"/);
      expect(metrics).toContain('process_cpu_user_seconds_total');
    } finally {
      await service.stop();
    }
    expect(stopped).toEqual(['worker']);
    expect((await service.readiness()).ready).toBe(false);
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  });
});
