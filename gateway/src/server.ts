import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloGateway, LocalGraphQLDataSource, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError } from 'graphql';
import type { Connection } from 'mongoose';
import { Counter, Gauge } from 'prom-client';
import type { Caller, Logger, PlatformMetrics } from '@waooaw/shared';
import {
  CALLER_HEADER,
  activeTraceparent,
  childTraceparent,
  inSpan,
  requestTraceparent,
  SpanKind,
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
import { resolutionBudget } from './subscriptions/budget';
import { attachSubscriptions } from './subscriptions/server';
import { auditModel } from './audit/model';
import type { Context } from './context';
import { createClientVerifier } from './auth';
import type { Environment } from './environment';
import { limitsPlugin } from './limits';
import { operationMetricsPlugin } from './operation-metrics';
import { clientAddress, trustedProxies } from './client-address';
import { createRateLimiter, rateLimitPlugin } from './rate-limit';
import { SUPERGRAPH_FILE, subgraphUrls } from './subgraphs';
import { callerInputRefusal } from './subgraph-refusal';

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
    | 'JWT_MAX_AGE_SECONDS'
    | 'INTROSPECTION'
    | 'MAX_QUERY_DEPTH'
    | 'MAX_QUERY_COST'
    | 'MAX_QUERY_ALIASES'
    | 'MAX_QUERY_DIRECTIVES'
    | 'MAX_QUERY_TOKENS'
    | 'RATE_LIMIT_PER_MINUTE'
    | 'RATE_LIMIT_BURST'
    | 'RATE_LIMIT_COST_PER_TOKEN'
    | 'TRUSTED_PROXIES'
    | 'SUBSCRIPTION_MAX_BUFFERED'
    | 'SUBSCRIPTION_RESUME_MAX_AGE_SECONDS'
    | 'KAFKA_GROUP_PREFIX'
    | 'CALLER_TOKEN_TTL_SECONDS'
    | 'WS_MAX_PAYLOAD_BYTES'
    | 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET'
    | 'WS_MAX_CONNECTIONS_PER_CALLER'
    | 'WS_MAX_SUBSCRIPTIONS_PER_CALLER'
    | 'SUBSCRIPTION_RESOLVE_CONCURRENCY'
  >;
  /** Subgraph name -> GraphQL URL (defaults from subgraphUrls(process.env)). */
  urls?: Record<string, string>;
  logger: Logger;
  metrics: PlatformMetrics;
  /** The gateway's database (the audit log). */
  connection: Connection;
  /** Kafka, which feeds the subscriptions. */
  brokers: string[];
  /** WAOOAW_NAMESPACE: the platform's topics and consumer groups on that Kafka ('' for none). */
  namespace: string;
}

/** Sends the verified caller (a token for this subgraph), trace and request id with every request. */
class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    url: string | undefined,
  ) {
    super({ url });
  }

  /** Each call to a subgraph is a client span of the gateway's request span. */
  override process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    return inSpan(
      'gateway',
      () => ({
        name: `subgraph ${this.subgraph}`,
        kind: SpanKind.CLIENT,
        attributes: { 'waooaw.subgraph': this.subgraph },
      }),
      () => super.process(options),
    );
  }

  override async willSendRequest({
    request,
    context,
  }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const ctx = context as Partial<GatewayContext>;
    if (!request.http || !ctx.forwardedCaller) return;
    request.http.headers.set(CALLER_HEADER, await ctx.forwardedCaller(this.subgraph));
    // With tracing, this call's own span (see process); without, a fresh child id of the request's.
    const traceparent =
      activeTraceparent() ?? (ctx.traceparent ? childTraceparent(ctx.traceparent) : undefined);
    if (traceparent) request.http.headers.set('traceparent', traceparent);
    if (ctx.requestId) request.http.headers.set('x-request-id', ctx.requestId);
  }
}

/**
 * A caller's forwarded tokens, one per subgraph, each re-signed once half its life is gone. A
 * request's context signs at most one per subgraph; a WebSocket's context lives as long as its
 * socket, so a token signed once for it would expire under a long-lived subscription.
 */
function forwardedTokens(caller: Caller | null, secret: string, ttlSeconds: number) {
  const tokens = new Map<string, { token: Promise<string>; renewAt: number }>();
  return (subgraph: string): Promise<string> => {
    const cached = tokens.get(subgraph);
    if (cached && Date.now() < cached.renewAt) return cached.token;
    const token = signCallerToken(caller, secret, subgraph, ttlSeconds);
    // exp counts from iat in whole seconds, so a token may live up to a second less than the TTL:
    // renew by its exp, so that every token handed out has at least half the TTL left.
    const exp = (Math.floor(Date.now() / 1000) + ttlSeconds) * 1000;
    tokens.set(subgraph, { token, renewAt: exp - (ttlSeconds * 1000) / 2 });
    return token;
  };
}

const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket hang up|fetch failed|failed, reason/i;

/** The counter of subscriptions that began hearing their feed (see attachSubscriptions' onListening). */
export const SUBSCRIPTIONS_LISTENING_METRIC = 'waooaw_gateway_subscriptions_listening_total';
/** The gauge of subscriptions running now, by field (see attachSubscriptions' onActive). */
export const SUBSCRIPTIONS_ACTIVE_METRIC = 'waooaw_gateway_subscriptions_active';

export function createGateway(deps: GatewayDeps) {
  const { config, logger } = deps;
  const urls = deps.urls ?? subgraphUrls(process.env);
  const production = config.NODE_ENV === 'production';
  const verifyClient = createClientVerifier(config);
  const limiter = createRateLimiter({
    perMinute: config.RATE_LIMIT_PER_MINUTE,
    burst: config.RATE_LIMIT_BURST,
  });
  const proxies = trustedProxies(config.TRUSTED_PROXIES);

  const limits = {
    maxDepth: config.MAX_QUERY_DEPTH,
    maxCost: config.MAX_QUERY_COST,
    maxAliases: config.MAX_QUERY_ALIASES,
    maxDirectives: config.MAX_QUERY_DIRECTIVES,
    maxTokens: config.MAX_QUERY_TOKENS,
  };
  const audits = auditModel(deps.connection);
  const audit = createAudit(audits, logger);
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'),
    buildService: ({ name, url }) =>
      name === 'audit'
        ? new LocalGraphQLDataSource<Context>(audit.schema)
        : new ForwardingDataSource(name, urls[name] ?? url),
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: config.INTROSPECTION ? config.INTROSPECTION === 'true' : !production,
    includeStacktraceInErrorResponses: false,
    // The parser stops at the token limit, before reading the rest of an oversized document.
    parseOptions: { maxTokens: limits.maxTokens },
    plugins: [
      production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      // In this order: limits computes the cost the rate limiter charges (contextValue.queryCost), and
      // the audit entries are written only for operations both let through (responseForOperation runs
      // in plugin order).
      limitsPlugin(limits),
      rateLimitPlugin(limiter, config.RATE_LIMIT_COST_PER_TOKEN),
      audit.plugin,
      operationMetricsPlugin(deps.metrics.registry),
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
      const refused = callerInputRefusal(extensions);
      if (refused) {
        return {
          message: refused.message,
          ...(formatted.path ? { path: formatted.path } : {}),
          extensions: { code: refused.code, ...(serviceName ? { serviceName } : {}) },
        };
      }
      // Otherwise `response` marks a subgraph's HTTP refusal of the gateway's own request (a 401 for
      // its caller token: a secret or audience mismatch): the gateway's fault, logged, and masked.
      if (
        typeof extensions.code === 'string' &&
        extensions.code !== ErrorCode.INTERNAL_SERVER_ERROR &&
        extensions.response === undefined
      ) {
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
    const { caller, expiresAt } = await verifyClient(req.headers.authorization).catch((err: GraphQLError) => {
      throw new GraphQLError(err.message, {
        extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
      });
    });
    return {
      caller,
      requestId: req.headers['x-request-id'] ?? randomUUID(),
      traceparent: requestTraceparent(req.headers.traceparent),
      ip: clientAddress(req.headers['x-forwarded-for'], req.remoteAddress, proxies),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      forwardedCaller: forwardedTokens(caller, config.CALLER_TOKEN_SECRET, config.CALLER_TOKEN_TTL_SECONDS),
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
    createEventBus({
      brokers: deps.brokers,
      namespace: deps.namespace,
      service: 'gateway',
      logger,
      // Its requests are counted like every other process's (the bench's Kafka requests per task).
      metrics: deps.metrics,
    }),
    logger,
    {
      // Every gateway replica signs with the same secret, so a cursor resumes on any of them.
      cursorSecret: config.CALLER_TOKEN_SECRET,
      resumeMaxAgeSeconds: config.SUBSCRIPTION_RESUME_MAX_AGE_SECONDS,
      groupPrefix: config.KAFKA_GROUP_PREFIX,
      registry: deps.metrics.registry,
    },
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
        // One live consumer for every subscribable topic from the start, so a new subscriber is live at once.
        start: async () => {
          await feeds.keepLive(Object.values(subscriptionFeeds).map((f) => f.event.topic));
        },
        stop: async () => {
          await subscriptions.close();
          await feeds.stop();
        },
        ready: () => true,
      },
    ],
  });
  // The rate of new subscribers; also what a test waits for before causing the event a subscriber
  // is to hear (a subscribe message has no acknowledgement in graphql-ws's protocol).
  const subscriptionsListening = new Counter({
    name: SUBSCRIPTIONS_LISTENING_METRIC,
    help: 'Subscriptions that began hearing their Kafka feed (events published from then on reach them), by field',
    labelNames: ['field'],
    registers: [deps.metrics.registry],
  });
  // Fields are the schema's Subscription fields (graphql-ws validates before subscribing): bounded.
  const subscriptionsActive = new Gauge({
    name: SUBSCRIPTIONS_ACTIVE_METRIC,
    help: 'GraphQL subscriptions running on this gateway (over graphql-ws), by field',
    labelNames: ['field'],
    registers: [deps.metrics.registry],
  });
  const subscriptions = attachSubscriptions({
    httpServer: service.http.server,
    apollo,
    schema: () => gateway.schema,
    contextFor: context,
    feeds,
    logger,
    maxBuffered: config.SUBSCRIPTION_MAX_BUFFERED,
    maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
    maxSubscriptionsPerSocket: config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
    maxConnectionsPerCaller: config.WS_MAX_CONNECTIONS_PER_CALLER,
    maxSubscriptionsPerCaller: config.WS_MAX_SUBSCRIPTIONS_PER_CALLER,
    resolutions: resolutionBudget(config.SUBSCRIPTION_RESOLVE_CONCURRENCY, deps.metrics.registry),
    limits,
    onListening: (field) => subscriptionsListening.inc({ field }),
    onActive: (field, change) => subscriptionsActive.inc({ field }, change),
  });
  return { service, apollo, context, urls };
}
export { signDevToken } from './auth';
export { RESOLUTION_BUDGET_METRIC, RESOLUTIONS_METRIC } from './subscriptions/budget';
