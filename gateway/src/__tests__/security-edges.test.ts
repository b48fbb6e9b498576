import { parse } from 'graphql';
import { SignJWT } from 'jose';
import type { RequestContext, Service } from '@waooaw/shared';
import {
  createMetrics,
  createRequestContext,
  createService,
  createSubgraphServer,
  parseConfig,
} from '@waooaw/shared';
import { testDatabase, testKafka, testLogger } from '@waooaw/shared/testing';
import { DEFAULT_JWT_MAX_AGE_SECONDS, signDevToken } from '../auth';
import { environmentSchema } from '../environment';
import { createGateway } from '../server';
import { subgraphs } from '../subgraphs';

const JWT = {
  JWT_SECRET: 'security-edges-client-jwt-secret-of-32-chars',
  JWT_ISSUER: 'waooaw',
  JWT_AUDIENCE: 'waooaw-api',
};

interface Answer {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions: Record<string, unknown> }[];
  };
}

/** The gateway's public edge, hit as a client would; subgraphs are not needed for what is tested. */
describe('the gateway edge: body limit, client token lifetime, metrics', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let service: Service;
  let endpoint: string;
  let base: string;
  let subgraph: Service;

  beforeAll(async () => {
    db = await testDatabase('gw-edges');
    // A subgraph on the shared server that trusts another caller secret than the gateway's (a
    // misconfiguration): it refuses every forwarded request at the door, whatever its schema.
    const logger = testLogger();
    subgraph = createService<RequestContext>({
      name: 'gw-edges-subgraph',
      logger,
      metrics: createMetrics('gw-edges-subgraph'),
      graphql: {
        server: createSubgraphServer<RequestContext>({
          typeDefs: parse('type Query { ping: String! }'),
          resolvers: { Query: { ping: () => 'pong' } },
          logger,
        }),
        context: (req) =>
          createRequestContext(req, logger, 'a-caller-secret-the-gateway-does-not-use', 'identity'),
      },
      components: [],
    });
    const subgraphUrl = `${await subgraph.start(0, '127.0.0.1')}/graphql`;
    const urls = Object.fromEntries(
      subgraphs()
        .filter((s) => !s.local)
        .map((s) => [s.name, subgraphUrl]),
    );
    ({ service } = createGateway({
      // The schema's defaults for everything this test does not set, so new settings need no edit here.
      config: {
        ...environmentSchema.parse({}),
        NODE_ENV: 'test',
        CALLER_TOKEN_SECRET: 'security-edges-caller-secret-of-32-chars!',
        ...JWT,
        RATE_LIMIT_PER_MINUTE: 6000,
        RATE_LIMIT_BURST: 1000,
      },
      urls,
      logger: testLogger(),
      metrics: createMetrics('gateway'),
      connection: db.connection,
      ...testKafka(),
    }));
    base = await service.start(0, '127.0.0.1', 0);
    endpoint = `${base}/graphql`;
  });
  afterAll(async () => {
    await service.stop();
    await subgraph.stop();
    await db.drop();
  });

  const post = async (body: string, token?: string): Promise<Answer> => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  const typename = (token?: string) => post(JSON.stringify({ query: '{ __typename }' }), token);

  it('answers a body over 1 MiB with 413 PAYLOAD_TOO_LARGE naming the limit, and keeps serving', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    const refused = await post(big);
    expect(refused.status).toBe(413);
    expect(refused.body.errors).toEqual([
      {
        message: expect.stringContaining('larger than the 1048576 bytes') as string,
        extensions: { code: 'PAYLOAD_TOO_LARGE', maxBytes: 1048576 },
      },
    ]);
    expect(await typename()).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
  });

  const sign = (claims: { iat?: number; exp?: number }) => {
    const jwt = new SignJWT({ roles: ['operator'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ops-edges')
      .setIssuer(JWT.JWT_ISSUER)
      .setAudience(JWT.JWT_AUDIENCE);
    if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
    if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
    return jwt.sign(new TextEncoder().encode(JWT.JWT_SECRET));
  };
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a client token without exp, saying to send one with an expiry', async () => {
    const noExp = await typename(await sign({ iat: now() }));
    expect(noExp.status).toBe(401);
    expect(noExp.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(noExp.body.errors?.[0]?.message).toMatch(/no expiry \(exp\); send a token with an expiry/);
  });

  it('refuses a client token issued longer ago than the maximum age, even if its exp is ahead', async () => {
    const old = await typename(
      await sign({ iat: now() - DEFAULT_JWT_MAX_AGE_SECONDS - 3600, exp: now() + 3600 }),
    );
    expect(old.status).toBe(401);
    expect(old.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(old.body.errors?.[0]?.message).toContain(`issued more than ${DEFAULT_JWT_MAX_AGE_SECONDS} s ago`);
    const noIat = await typename(await sign({ exp: now() + 3600 }));
    expect(noIat.status).toBe(401);
    expect(noIat.body.errors?.[0]?.message).toMatch(/no issue time \(iat\)/);
    // A token the identity provider issued just now, with an expiry, is accepted.
    expect(await typename(await signDevToken({ sub: 'ops-edges', roles: ['operator'] }, JWT))).toEqual({
      status: 200,
      body: { data: { __typename: 'Query' } },
    });
  });

  it('masks a subgraph refusing the forwarded caller (its 401) as an internal error, without its URL', async () => {
    const token = await signDevToken({ sub: 'ops-edges', roles: ['operator'] }, JWT);
    const answer = await post(JSON.stringify({ query: '{ agent(id: "a-1") { id } }' }), token);
    expect(answer.body.errors).toEqual([
      expect.objectContaining({
        message: 'Internal server error; it has been logged',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      }),
    ]);
    expect(JSON.stringify(answer.body)).not.toContain('127.0.0.1');
  });

  it('does not serve /metrics on the public port; the metrics port does', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect(service.metricsUrl).toBeDefined();
    const scraped = await fetch(service.metricsUrl!);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('waooaw_http_request_duration_seconds');
  });
});

describe('the gateway configuration in production', () => {
  const own = 'an-operator-secret-of-at-least-32-characters';

  it('refuses the development default of every secret', () => {
    expect(() => parseConfig(environmentSchema, { NODE_ENV: 'production' })).toThrow(
      /CALLER_TOKEN_SECRET: is the development default[\s\S]*JWT_SECRET: is the development default/,
    );
    expect(() =>
      parseConfig(environmentSchema, { NODE_ENV: 'production', CALLER_TOKEN_SECRET: own }),
    ).toThrow(/JWT_SECRET: is the development default/);
    const config = parseConfig(environmentSchema, {
      NODE_ENV: 'production',
      CALLER_TOKEN_SECRET: own,
      JWT_SECRET: `${own}-jwt`,
    });
    expect(config.PORT).toBe(4000);
    // No metrics unless a port is given for them.
    expect(config.METRICS_PORT).toBeUndefined();
    expect(parseConfig(environmentSchema, { METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
    expect(parseConfig(environmentSchema, { JWT_MAX_AGE_SECONDS: '3600' }).JWT_MAX_AGE_SECONDS).toBe(3600);
    expect(parseConfig(environmentSchema, { METRICS_PORT: '0' }).METRICS_PORT).toBeUndefined();
    expect(() => parseConfig(environmentSchema, { METRICS_PORT: 'public' })).toThrow(/METRICS_PORT/);
  });
});
