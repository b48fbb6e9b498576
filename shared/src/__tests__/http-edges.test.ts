import { request } from 'node:http';
import { parse } from 'graphql';
import type { RequestContext, Service } from '../index';
import {
  createMetrics,
  createRequestContext,
  createService,
  createSubgraphServer,
  signCallerToken,
} from '../index';
import { testLogger } from '../testing';

const SECRET = 'edges-test-caller-token-secret-of-32-chars';
const MAX_BODY = 1024 * 1024;

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { echo(text: String!): String! }
`);

interface ErrorBody {
  errors?: { message: string; extensions: Record<string, unknown> }[];
  data?: Record<string, unknown>;
}

/** A POST over a raw socket, so a reset shows up as an error instead of being retried or hidden. */
function rawPost(
  url: string,
  body: Buffer,
  options: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: ErrorBody }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.chunked ? {} : { 'content-length': String(body.length) }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ErrorBody,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.chunked) {
      // Sent in 64 KiB pieces, as a streaming client would, without announcing the length.
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** `{"query": ..., "variables": {"text": <n bytes>}}` */
const bodyOf = (bytes: number, query = 'query($text: String!) { echo(text: $text) }') =>
  Buffer.from(JSON.stringify({ query, variables: { text: 'x'.repeat(bytes) } }));

describe('the HTTP edge of every service (a subgraph on the shared server)', () => {
  let service: Service;
  let url: string;
  beforeAll(async () => {
    const logger = testLogger();
    const server = createSubgraphServer<RequestContext>({
      typeDefs,
      logger,
      resolvers: { Query: { echo: (_: unknown, { text }: { text: string }) => `${text.length}` } },
    });
    service = createService<RequestContext>({
      name: 'edges-test',
      logger,
      metrics: createMetrics('edges-test'),
      graphql: { server, context: (req) => createRequestContext(req, logger, SECRET, 'edges-test') },
      components: [],
    });
    url = await service.start(0, '127.0.0.1', 0);
  });
  afterAll(() => service.stop());

  it('answers a body over the limit with 413 and a typed GraphQL error, whether announced or streamed', async () => {
    const caller = { 'x-waooaw-caller': await signCallerToken(null, SECRET, 'edges-test') };
    const fits = await rawPost(`${url}/graphql`, bodyOf(1000), { headers: caller });
    expect(fits).toEqual({ status: 200, body: { data: { echo: '1000' } } });
    for (const [bytes, chunked] of [
      [MAX_BODY + 1, false],
      [4 * MAX_BODY, false],
      [MAX_BODY + 1, true],
      [4 * MAX_BODY, true],
    ] as const) {
      const tooLarge = await rawPost(`${url}/graphql`, bodyOf(bytes), { chunked, headers: caller });
      expect({ bytes, chunked, ...tooLarge }).toEqual({
        bytes,
        chunked,
        status: 413,
        body: {
          errors: [
            {
              message: expect.stringContaining(`larger than the ${MAX_BODY} bytes`) as string,
              extensions: { code: 'PAYLOAD_TOO_LARGE', maxBytes: MAX_BODY },
            },
          ],
        },
      });
    }
    // The server is still serving.
    expect((await rawPost(`${url}/graphql`, bodyOf(10), { headers: caller })).status).toBe(200);
  });

  it('answers a request without or with a bad forwarded caller token with 401 UNAUTHENTICATED', async () => {
    const missing = await rawPost(`${url}/graphql`, bodyOf(1));
    expect(missing.status).toBe(401);
    expect(missing.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(missing.body.errors?.[0]?.message).toContain('through the gateway');

    const forged = await signCallerToken(
      { sub: 'evil', roles: ['admin'] },
      'another-secret-that-is-32-characters-long',
      'edges-test',
    );
    const bad = await rawPost(`${url}/graphql`, bodyOf(1), { headers: { 'x-waooaw-caller': forged } });
    expect(bad.status).toBe(401);
    expect(bad.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('serves /metrics on the metrics port only, never on the public port', async () => {
    expect(service.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(service.metricsUrl!).port).not.toBe(new URL(url).port);
    const scraped = await fetch(service.metricsUrl!);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('waooaw_http_request_duration_seconds');
    const publicPort = await fetch(`${url}/metrics`);
    expect(publicPort.status).toBe(404);
  });
});
