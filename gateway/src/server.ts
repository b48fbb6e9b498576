import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloGateway, LocalGraphQLDataSource, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError } from 'graphql';
import type { Connection } from 'mongoose';
import type { Logger, PlatformMetrics } from '@waooaw/shared';
import {
  CALLER_HEADER,
  childTraceparent,
  createEventBus,
  createService,
  indexesComponent,
  ErrorCode,
  mongoComponent,
  signCallerToken,
  subscriptionFeeds,
} from '@waooaw/shared';
import { createAudit } from './audit';
import { createKafkaFeeds } from './subscriptions/feed';
import { attachSubscriptions } from './subscriptions/server';
import { auditModel } from './audit/model';
import type { Context } from './context';
import { createClientAuth } from './auth';
import type { Environment } from './environment';
import { limitsPlugin } from './limits';
import { clientAddress, trustedProxies } from './client-address';
import { createRateLimiter, rateLimitPlugin } from './rate-limit';
import { SUPERGRAPH_FILE, subgraphUrls } from './subgraphs';

export type GatewayContext = Context;

export interface GatewayDeps {
  config: Pick<
    Environment,
    | 'NODE_ENV'
    | 'CALLER_TOKEN_SECRET'
    | 'JWT_SECRET'
    | 'JWT_JWKS_URL'
    | 'JWT_ISSUER'
    | 'JWT_AUDIENCE'
    | 'INTROSPECTION'
    | 'MAX_QUERY_DEPTH'
    | 'MAX_QUERY_COST'
    | 'RATE_LIMIT_PER_MINUTE'
    | 'RATE_LIMIT_BURST'
    | 'RATE_LIMIT_COST_PER_TOKEN'
    | 'TRUSTED_PROXIES'
    | 'SUBSCRIPTION_MAX_BUFFERED'
  >;
  /** Subgraph name -> GraphQL URL (defaults from subgraphUrls(process.env)). */
  urls?: Record<string, string>;
  logger: Logger;
  metrics: PlatformMetrics;
  /** The gateway's database (the audit log). */
  connection: Connection;
  /** Kafka, which feeds the subscriptions. */
  brokers: string[];
}

/** Sends the verified caller, trace and request id along with every subgraph request. */
class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override async willSendRequest({
    request,
    context,
  }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const ctx = context as Partial<GatewayContext>;
    if (!request.http || !ctx.forwardedCaller) return;
    request.http.headers.set(CALLER_HEADER, await ctx.forwardedCaller());
    if (ctx.traceparent) request.http.headers.set('traceparent', childTraceparent(ctx.traceparent));
    if (ctx.requestId) request.http.headers.set('x-request-id', ctx.requestId);
  }
}

const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket hang up|fetch failed|failed, reason/i;

export function createGateway(deps: GatewayDeps) {
  const { config, logger } = deps;
  const urls = deps.urls ?? subgraphUrls(process.env);
  const production = config.NODE_ENV === 'production';
  const callerFrom = createClientAuth(config);
  const limiter = createRateLimiter({
    perMinute: config.RATE_LIMIT_PER_MINUTE,
    burst: config.RATE_LIMIT_BURST,
  });
  const proxies = trustedProxies(config.TRUSTED_PROXIES);

  const audits = auditModel(deps.connection);
  const audit = createAudit(audits, logger);
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'),
    buildService: ({ name, url }) =>
      name === 'audit'
        ? new LocalGraphQLDataSource<Context>(audit.schema)
        : new ForwardingDataSource({ url: urls[name] ?? url }),
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: config.INTROSPECTION ? config.INTROSPECTION === 'true' : !production,
    includeStacktraceInErrorResponses: false,
    plugins: [
      production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      // In this order: limits computes the cost the rate limiter charges, and the audit entries are
      // written only for operations both let through (responseForOperation runs in plugin order).
      limitsPlugin({ maxDepth: config.MAX_QUERY_DEPTH, maxCost: config.MAX_QUERY_COST }),
      rateLimitPlugin(limiter, config.RATE_LIMIT_COST_PER_TOKEN),
      audit.plugin,
    ],
    formatError(formatted) {
      const extensions = formatted.extensions ?? {};
      // A subgraph that cannot be reached surfaces as "request to <its url> failed, reason: ...".
      const serviceName =
        typeof extensions.serviceName === 'string'
          ? extensions.serviceName
          : Object.entries(urls).find(([, u]) => formatted.message.includes(u))?.[0];
      if (serviceName && UNREACHABLE.test(formatted.message)) {
        return {
          message: `The ${serviceName} service is unavailable right now; the fields it provides are null in this response`,
          ...(formatted.path ? { path: formatted.path } : {}),
          extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, serviceName },
        };
      }
      if (typeof extensions.code === 'string' && extensions.code !== ErrorCode.INTERNAL_SERVER_ERROR) {
        const { stacktrace: _stacktrace, ...rest } = extensions;
        return { ...formatted, extensions: rest };
      }
      logger.error({ error: formatted }, 'unexpected gateway error');
      return {
        message: 'Internal server error; it has been logged',
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      };
    },
  });

  const context = async (req: {
    headers: Record<string, string | undefined>;
    remoteAddress?: string;
  }): Promise<GatewayContext> => {
    const caller = await callerFrom(req.headers.authorization).catch((err: GraphQLError) => {
      throw new GraphQLError(err.message, {
        extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
      });
    });
    let forwarded: Promise<string> | undefined;
    return {
      caller,
      requestId: req.headers['x-request-id'] ?? randomUUID(),
      traceparent: childTraceparent(req.headers.traceparent),
      ip: clientAddress(req.headers['x-forwarded-for'], req.remoteAddress, proxies),
      forwardedCaller: () => (forwarded ??= signCallerToken(caller, config.CALLER_TOKEN_SECRET)),
    };
  };

  // Ready = every subgraph answers its readiness probe (checked at most every 2 s).
  let lastCheck = { at: 0, ready: false };
  const subgraphsReady = async () => {
    if (Date.now() - lastCheck.at < 2_000) return lastCheck.ready;
    const results = await Promise.all(
      Object.values(urls).map((url) =>
        fetch(url.replace(/\/graphql$/, '/health/ready'), { signal: AbortSignal.timeout(1_500) }).then(
          (r) => r.ok,
          () => false,
        ),
      ),
    );
    lastCheck = { at: Date.now(), ready: results.every(Boolean) };
    return lastCheck.ready;
  };

  // Subscriptions: a Kafka client for the feeds, graphql-ws on the same HTTP server (attached below).
  const feeds = createKafkaFeeds(
    createEventBus({ brokers: deps.brokers, service: 'gateway', logger }),
    logger,
  );
  const service = createService<GatewayContext>({
    name: 'gateway',
    logger,
    metrics: deps.metrics,
    graphql: { server: apollo, context },
    components: [
      mongoComponent(deps.connection),
      indexesComponent(audits),
      { name: 'subgraphs', stage: 'messaging', stop: async () => undefined, ready: subgraphsReady },
      {
        name: 'subscriptions',
        stage: 'work',
        // One live consumer per subscribable topic from the start, so a new subscriber is live at once.
        start: async () => {
          const topics = new Set(Object.values(subscriptionFeeds).map((f) => f.event.topic));
          await Promise.all([...topics].map((topic) => feeds.keepLive(topic)));
        },
        stop: async () => {
          await subscriptions.close();
          await feeds.stop();
        },
        ready: () => true,
      },
    ],
  });
  const subscriptions = attachSubscriptions({
    httpServer: service.http.server,
    apollo,
    schema: () => gateway.schema,
    contextFor: (headers) => context({ headers }),
    feeds,
    logger,
    maxBuffered: config.SUBSCRIPTION_MAX_BUFFERED,
  });
  return { service, apollo, context, urls };
}
export { signDevToken } from './auth';
