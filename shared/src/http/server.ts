import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApolloServer, BaseContext } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { PlatformMetrics } from '../metrics';
import type { Span } from '../tracing/spans';
import { inSpan, SpanKind, SpanStatusCode } from '../tracing/spans';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
  /**
   * Per component, why it is not doing all its work though ready (a consumer paused while it waits
   * out an outage). Answered with 200 and status "degraded": see busComponent for why not 503.
   */
  degraded?: Record<string, string[]>;
}

export interface GraphQLRoute<TContext extends BaseContext> {
  server: ApolloServer<TContext>;
  context: (req: {
    headers: Record<string, string | undefined>;
    remoteAddress?: string;
  }) => Promise<TContext>;
}

export interface HttpServerOptions<TContext extends BaseContext> {
  /** The service's name: its tracer's, for the span of each GraphQL request. */
  service: string;
  logger: Logger;
  metrics: PlatformMetrics;
  readiness: () => Promise<Readiness>;
  graphql?: GraphQLRoute<TContext>;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface HttpServer {
  listen(port: number, host: string): Promise<string>;
  /**
   * Serves /metrics on a port of its own (and nowhere else): the public port never answers it, so an
   * operator exposes only PORT and lets the scraper reach this one on the private network.
   */
  listenMetrics(port: number, host: string): Promise<string>;
  /** Stop accepting connections; requests in flight go on. */
  stopAccepting(): void;
  /** Resolves when every connection has closed (forcing idle ones, then all after the grace period). */
  close(graceMs?: number): Promise<void>;
  readonly server: Server;
}

/** A body past the limit is still read this far (and thrown away) before the socket is cut. */
const DRAIN_FACTOR = 8;
/** How long an idle keep-alive connection is kept open (see createServer below). */
const KEEP_ALIVE_MS = 65_000;

/**
 * The request body, or null when it is larger than `limit` (declared by Content-Length or counted
 * while it arrives). An oversized body is drained rather than reset: a client still sending when the
 * server closes the socket gets a TCP reset and never reads the 413. Draining is bounded too
 * (DRAIN_FACTOR x limit); past that the socket is destroyed, the 413 having long been written.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number(req.headers['content-length'] ?? 0) > limit;
    if (over) resolve(null);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit * DRAIN_FACTOR && !req.socket.destroyed) req.socket.destroy();
      if (over) return;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Errors thrown while building a request's context (no or a bad caller token) are answered with the
 * HTTP status their code means rather than Apollo's default 500, so clients and the gateway see 401.
 */
const CONTEXT_ERROR_STATUS: Partial<Record<string, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
};

function withHttpStatus(err: unknown): unknown {
  if (!(err instanceof GraphQLError)) return err;
  const status = CONTEXT_ERROR_STATUS[String(err.extensions.code)];
  if (status === undefined || err.extensions.http) return err;
  return new GraphQLError(err.message, {
    extensions: { ...err.extensions, http: { status } },
    originalError: err,
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

const OPERATION = /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/;

/**
 * How a GraphQL request's span is named: its operation's name (the body's `operationName`, else the
 * name in its document), `anonymous` without one. Cut to 64 characters: clients choose the names.
 */
export function operationLabel(body: unknown, url: URL): string {
  const fields = (body && typeof body === 'object' ? body : {}) as {
    operationName?: unknown;
    query?: unknown;
  };
  const operationName = fields.operationName ?? url.searchParams.get('operationName');
  if (typeof operationName === 'string' && operationName) return operationName.slice(0, 64);
  const query = fields.query ?? url.searchParams.get('query');
  const named = typeof query === 'string' ? OPERATION.exec(query.slice(0, 300)) : null;
  return named?.[1]?.slice(0, 64) ?? 'anonymous';
}

function graphqlError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
) {
  sendJson(res, status, { errors: [{ message, extensions: { code, ...extensions } }] });
}

/**
 * The HTTP face of every service: /health/live, /health/ready and (for subgraphs and the gateway)
 * /graphql through Apollo Server's integration API, on Node's own http server; /metrics on a second
 * listener (listenMetrics).
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
      if (raw === null) {
        graphqlError(
          res,
          413,
          ErrorCode.PAYLOAD_TOO_LARGE,
          `The request body is larger than the ${maxBody} bytes this server accepts; send a smaller operation or fewer variables`,
          { maxBytes: maxBody },
        );
        return;
      }
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
    const response = await inSpan(
      options.service,
      () => ({
        name: `graphql ${operationLabel(body, url)}`,
        kind: SpanKind.SERVER,
        parent: flatHeaders(req).traceparent ?? null,
        attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname },
      }),
      (span) => executeGraphQL(req, url, route, headers, body, span),
    );
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };

  /**
   * Apollo's handling of one request, inside its span: the context function and the resolvers see it
   * as the active span, so the events they create and the subgraphs they call continue it.
   */
  const executeGraphQL = async (
    req: IncomingMessage,
    url: URL,
    route: GraphQLRoute<TContext>,
    headers: HeaderMap,
    body: unknown,
    span: Span | undefined,
  ) => {
    const response = await route.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () =>
        route
          .context({
            headers: flatHeaders(req),
            ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
          })
          .catch((err: unknown) => {
            throw withHttpStatus(err);
          }),
    });
    span?.setAttribute('http.response.status_code', response.status ?? 200);
    if ((response.status ?? 200) >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
    return response;
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
          status: !readiness.ready ? 'not-ready' : readiness.degraded ? 'degraded' : 'ready',
          checks: readiness.checks,
          ...(readiness.degraded ? { degraded: readiness.degraded } : {}),
        });
      } else if (graphql && url.pathname === '/graphql') {
        route = 'graphql';
        await handleGraphQL(req, res, url, graphql);
      } else {
        sendJson(res, 404, { error: `no route for ${url.pathname}` });
      }
    } catch (err) {
      logger.error({ err, path: url.pathname }, 'request failed');
      if (!res.headersSent)
        graphqlError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error; it has been logged');
      else res.end();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.observe(
        { route, method: req.method ?? 'GET', status: String(res.statusCode) },
        seconds,
      );
    }
  };

  const handleMetrics = async (req: IncomingMessage, res: ServerResponse) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (pathname !== '/metrics') sendJson(res, 404, { error: `no route for ${pathname}` });
      else
        res
          .writeHead(200, { 'content-type': metrics.registry.contentType })
          .end(await metrics.registry.metrics());
    } catch (err) {
      logger.error({ err }, 'metrics request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'metrics failed; it has been logged' });
      else res.end();
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  // A client keeps an idle connection for its next request; Node's agent (the gateway's fetches to
  // the subgraphs) gives an idle one up after 5 s, exactly when Node's server closes it by default.
  // A request sent on a connection the server is closing fails with ECONNRESET ("socket hang up"),
  // which the gateway reports as SUBGRAPH_UNAVAILABLE: seen in bursts when the gateway's event loop
  // was busy (ten thousand subscribers) and noticed the server's close late. The server waits
  // longer, so that the client is always the one to give an idle connection up.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000; // must exceed keepAliveTimeout (Node's rule)
  const metricsServer = createServer((req, res) => void handleMetrics(req, res));
  let closed: Promise<void> | undefined;
  let metricsClosed: Promise<void> = Promise.resolve();

  const listenOn = (target: Server, port: number, host: string) =>
    new Promise<string>((resolve, reject) => {
      target.once('error', reject);
      target.listen(port, host, () => {
        target.off('error', reject);
        const address = target.address() as AddressInfo;
        resolve(`http://${host === '0.0.0.0' ? 'localhost' : host}:${address.port}`);
      });
    });

  return {
    server,
    listen: (port, host) => listenOn(server, port, host),
    async listenMetrics(port, host) {
      const url = await listenOn(metricsServer, port, host);
      metricsClosed = new Promise<void>((resolve) => metricsServer.once('close', () => resolve()));
      return url;
    },
    stopAccepting() {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
    },
    async close(graceMs = 5_000) {
      this.stopAccepting();
      // Scrapes are short; the metrics listener goes with the service.
      if (metricsServer.listening) {
        metricsServer.close();
        metricsServer.closeAllConnections();
      }
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      await Promise.all([closed, metricsClosed]);
      clearTimeout(force);
    },
  };
}
