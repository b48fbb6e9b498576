import { createMetrics } from '@waooaw/shared';
import { testDatabase, testKafka, testLogger } from '@waooaw/shared/testing';
import { signDevToken } from '../auth';
import { clientAddress, trustedProxies } from '../client-address';
import { createRateLimiter, rateLimitKey } from '../rate-limit';
import type { GatewayDeps } from '../server';
import { environmentSchema } from '../environment';
import { createGateway } from '../server';

const JWT = {
  JWT_SECRET: 'security-ratelimit-jwt-secret-long-enough',
  JWT_ISSUER: 'waooaw',
  JWT_AUDIENCE: 'waooaw-api',
};
// Nothing listens here: subgraph calls fail fast, but every request is still parsed, priced and charged.
const DEAD = 'http://127.0.0.1:9/graphql';
const urls = Object.fromEntries(
  ['identity', 'factory', 'discovery', 'orchestration', 'marketplace', 'support'].map((n) => [n, DEAD]),
);

type Response = { status: number; body: { errors?: { extensions: Record<string, unknown> }[] } };

/** Document limits high enough that the many-mutation requests below reach the rate limiter. */
const UNLIMITED_DOCUMENTS = { MAX_QUERY_TOKENS: 100_000, MAX_QUERY_ALIASES: 1_000 };

describe('rate limits that cannot be side-stepped', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  const started: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    db = await testDatabase('gateway-ratelimit');
  });
  afterAll(async () => {
    for (const s of started) await s.stop();
    await db.drop();
  });

  async function startGateway(config: Partial<GatewayDeps['config']>) {
    const gateway = createGateway({
      // The schema's defaults for what this test does not set, so new settings need no edit here.
      config: {
        ...environmentSchema.parse({}),
        NODE_ENV: 'test',
        CALLER_TOKEN_SECRET: 'security-ratelimit-caller-secret-32-chars',
        ...JWT,
        RATE_LIMIT_PER_MINUTE: 1, // no refill to speak of during a test
        RATE_LIMIT_BURST: 1000,
        RATE_LIMIT_COST_PER_TOKEN: 100,
        TRUSTED_PROXIES: [],
        ...config,
      },
      urls,
      logger: testLogger(),
      metrics: createMetrics('gateway'),
      connection: db.connection,
      ...testKafka(),
    });
    const base = await gateway.service.start(0, '127.0.0.1');
    started.push(gateway.service);
    const post = async (
      query: string,
      options: { token?: string; forwardedFor?: string; variables?: Record<string, unknown> } = {},
    ): Promise<Response> => {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
        },
        body: JSON.stringify({ query, variables: options.variables ?? {} }),
      });
      return { status: res.status, body: (await res.json()) as Response['body'] };
    };
    return { post, context: gateway.context };
  }

  const token = (sub: string) => signDevToken({ sub, roles: ['operator'] }, JWT);
  const limited = (r: Response) => r.status === 429 && r.body.errors?.[0]?.extensions.code === 'RATE_LIMITED';

  it('does not believe x-forwarded-for from a peer that is not a trusted proxy', async () => {
    const { post } = await startGateway({ RATE_LIMIT_BURST: 2 });
    // The test's socket (127.0.0.1) is no trusted proxy: inventing addresses does not buy fresh buckets.
    expect((await post('{ __typename }', { forwardedFor: '198.51.100.1' })).status).toBe(200);
    expect((await post('{ __typename }', { forwardedFor: '198.51.100.2' })).status).toBe(200);
    expect(limited(await post('{ __typename }', { forwardedFor: '198.51.100.3' }))).toBe(true);
  });

  it('from a trusted proxy, keys by the right-most address it did not add itself', async () => {
    const { post } = await startGateway({
      RATE_LIMIT_BURST: 1,
      TRUSTED_PROXIES: ['127.0.0.0/8', '10.1.0.0/16'],
    });
    // The client wrote 203.0.113.50; our proxies appended 198.51.100.7 (the client) and 10.1.2.3 (a proxy).
    expect(
      (await post('{ __typename }', { forwardedFor: '203.0.113.50, 198.51.100.7, 10.1.2.3' })).status,
    ).toBe(200);
    // Another invented left-most address is still the same client.
    expect(
      limited(await post('{ __typename }', { forwardedFor: '203.0.113.51, 198.51.100.7, 10.1.2.3' })),
    ).toBe(true);
    expect((await post('{ __typename }', { forwardedFor: '198.51.100.8' })).status).toBe(200);
  });

  it('charges each mutation field: 200 aliased mutations (fragments included) are 200 mutations', async () => {
    // Limits on tokens and aliases lifted: this is about what the rate limiter charges for what passes.
    const { post } = await startGateway({ RATE_LIMIT_BURST: 300, ...UNLIMITED_DOCUMENTS });
    const caller = await token('alias-bomber');
    const field = (i: number) =>
      `m${i}: transitionAgentLifecycle(id: "a-${i}", to: ACTIVE, reason: "r") { id }`;
    const range = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => field(from + i)).join('\n');
    // 100 fields at the root, 50 in a named fragment on Mutation, 50 in an inline fragment.
    const bomb = `mutation { ${range(0, 100)} ...More ... on Mutation { ${range(150, 200)} } }
      fragment More on Mutation { ${range(100, 150)} }`;
    // Charged 204: 200 mutation fields + its cost (400) at 100 per token. 96 tokens are left ...
    expect((await post(bomb, { token: caller })).status).not.toBe(429);
    // ... which a request of 94 mutations (cost 188: 2 tokens + 94) takes exactly ...
    expect((await post(`mutation { ${range(0, 94)} }`, { token: caller })).status).not.toBe(429);
    // ... so nothing more passes.
    expect(limited(await post('{ __typename }', { token: caller }))).toBe(true);
  });

  it('charges a costly query by its cost, with a retry-after honest for that cost', async () => {
    const { post } = await startGateway({ RATE_LIMIT_BURST: 6, RATE_LIMIT_PER_MINUTE: 60 });
    const caller = await token('big-reader');
    const costly = '{ agents(first: 100) { totalCount edges { cursor } } }';
    expect((await post(costly, { token: caller })).status).not.toBe(429);
    const second = await post(costly, { token: caller });
    expect(limited(second)).toBe(true);
    const { charge, retryAfterSeconds } = second.body.errors![0]!.extensions as {
      charge: number;
      retryAfterSeconds: number;
    };
    expect(charge).toBeGreaterThan(1);
    // The first took `charge`, this one's admission 1 more; at 1 token/s the full charge is back in:
    expect(retryAfterSeconds).toBe(charge - (6 - charge - 1));
  });

  it('charges anonymous validateAgentDefinition (it parses YAML) like several mutations', async () => {
    const { post } = await startGateway({ RATE_LIMIT_BURST: 8 });
    const validate = 'query($y: String!) { validateAgentDefinition(yaml: $y) { valid } }';
    const first = await post(validate, { variables: { y: 'handle: x' } });
    expect(first.status).not.toBe(429);
    expect(limited(await post(validate, { variables: { y: 'handle: y' } }))).toBe(true);
  });

  it('refuses a request whose charge could never fit in the bucket, saying so', async () => {
    const { post } = await startGateway({ RATE_LIMIT_BURST: 50, ...UNLIMITED_DOCUMENTS });
    const caller = await token('too-big');
    const many = `mutation { ${Array.from({ length: 60 }, (_, i) => `m${i}: transitionAgentLifecycle(id: "a", to: ACTIVE, reason: "r") { id }`).join(' ')} }`;
    const refused = await post(many, { token: caller });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCharge: 50 });
  });

  it('keys anonymous callers by their own address (HTTP and WebSocket contexts alike)', async () => {
    const { context } = await startGateway({});
    const keyOf = async (req: Parameters<typeof context>[0]) => rateLimitKey(await context(req));
    expect(await keyOf({ headers: {}, remoteAddress: '198.51.100.20' })).toBe('ip:198.51.100.20');
    expect(await keyOf({ headers: {}, remoteAddress: '::ffff:198.51.100.21' })).toBe('ip:198.51.100.21');
    // A spoofed header from an untrusted peer changes nothing.
    expect(await keyOf({ headers: { 'x-forwarded-for': '192.0.2.1' }, remoteAddress: '198.51.100.20' })).toBe(
      'ip:198.51.100.20',
    );
    expect(
      await keyOf({
        headers: { authorization: `Bearer ${await token('ws-user')}` },
        remoteAddress: '198.51.100.20',
      }),
    ).toBe('sub:ws-user');
  });
});

describe('client address', () => {
  const trusted = trustedProxies(['10.0.0.0/8', '2001:db8::/32', '192.0.2.10']);
  it('reads x-forwarded-for only behind trusted proxies, from the right', () => {
    expect(clientAddress('1.2.3.4', '203.0.113.9', trusted)).toBe('203.0.113.9');
    expect(clientAddress('1.2.3.4, 198.51.100.1', '10.0.0.1', trusted)).toBe('198.51.100.1');
    expect(clientAddress('198.51.100.1, 192.0.2.10, 10.9.9.9', '::ffff:10.0.0.1', trusted)).toBe(
      '198.51.100.1',
    );
    expect(clientAddress('198.51.100.1, 2001:db8::1', '2001:db8::2', trusted)).toBe('198.51.100.1');
    expect(clientAddress('not-an-address, 10.0.0.2', '10.0.0.1', trusted)).toBe('10.0.0.2');
    expect(clientAddress(undefined, '10.0.0.1', trusted)).toBe('10.0.0.1');
    expect(clientAddress('1.2.3.4', undefined, trusted)).toBe('unknown');
  });
});

describe('token bucket', () => {
  it('takes several tokens at once, and says honestly when that many are back', () => {
    let t = 0;
    const limiter = createRateLimiter({ perMinute: 60, burst: 10, now: () => t });
    expect(limiter.take('a', 8)).toEqual({ ok: true });
    expect(limiter.take('a', 5)).toEqual({ ok: false, retryAfterSeconds: 3 });
    t += 2_999;
    expect(limiter.take('a', 5).ok).toBe(false);
    t += 1;
    expect(limiter.take('a', 5)).toEqual({ ok: true });
    expect(() => limiter.take('a', 11)).toThrow(RangeError);
  });
});
