import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApolloServer, BaseContext } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface GraphQLRoute<TContext extends BaseContext> {
  server: ApolloServer<TContext>;
  context: (req: {
    headers: Record<string, string | undefined>;
    remoteAddress?: string;
  }) => Promise<TContext>;
}

export interface HttpServerOptions<TContext extends BaseContext> {
  logger: Logger;
  metrics: PlatformMetrics;
  readiness: () => Promise<Readiness>;
  graphql?: GraphQLRoute<TContext>;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface HttpServer {
  listen(port: number, host: string): Promise<string>;
  /** Stop accepting connections; requests in flight go on. */
  stopAccepting(): void;
  /** Resolves when every connection has closed (forcing idle ones, then all after the grace period). */
  close(graceMs?: number): Promise<void>;
  readonly server: Server;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers))
    headers[key] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function graphqlError(res: ServerResponse, status: number, code: string, message: string) {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}

/**
 * The HTTP face of every service: /health/live, /health/ready, /metrics and (for subgraphs)
 * /graphql through Apollo Server's integration API, on Node's own http server.
 */
export function createHttpServer<TContext extends BaseContext>(
  options: HttpServerOptions<TContext>,
): HttpServer {
  const { logger, metrics, graphql } = options;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;

  const handleGraphQL = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    route: GraphQLRoute<TContext>,
  ) => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(flatHeaders(req)))
      if (value !== undefined) headers.set(key, value);
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const raw = await readBody(req, maxBody);
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          graphqlError(
            res,
            400,
            'BAD_REQUEST',
            'The request body is not valid JSON; send {"query": "...", "variables": {...}}',
          );
          return;
        }
      }
    }
    const response = await route.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () =>
        route.context({
          headers: flatHeaders(req),
          ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
        }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const started = process.hrtime.bigint();
    let route = 'other';
    try {
      if (url.pathname === '/health/live') {
        route = 'live';
        sendJson(res, 200, { status: 'ok' });
      } else if (url.pathname === '/health/ready') {
        route = 'ready';
        const readiness = await options.readiness();
        sendJson(res, readiness.ready ? 200 : 503, {
          status: readiness.ready ? 'ready' : 'not-ready',
          checks: readiness.checks,
        });
      } else if (url.pathname === '/metrics') {
        route = 'metrics';
        res
          .writeHead(200, { 'content-type': metrics.registry.contentType })
          .end(await metrics.registry.metrics());
      } else if (graphql && url.pathname === '/graphql') {
        route = 'graphql';
        await handleGraphQL(req, res, url, graphql);
      } else {
        sendJson(res, 404, { error: `no route for ${url.pathname}` });
      }
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        graphqlError(res, 413, 'BAD_REQUEST', `The request body is larger than ${maxBody} bytes`);
      } else {
        logger.error({ err, path: url.pathname }, 'request failed');
        if (!res.headersSent)
          graphqlError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error; it has been logged');
        else res.end();
      }
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.observe(
        { route, method: req.method ?? 'GET', status: String(res.statusCode) },
        seconds,
      );
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  let closed: Promise<void> | undefined;

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(`http://${host === '0.0.0.0' ? 'localhost' : host}:${address.port}`);
        });
      });
    },
    stopAccepting() {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
    },
    async close(graceMs = 5_000) {
      this.stopAccepting();
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(force);
    },
  };
}
