import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { DocumentNode } from 'graphql';
import { ErrorCode, toPlatformError } from '../errors';
import type { Logger } from '../logger';
import { requestTraceparent } from '../tracing/spans';
import type { Caller } from './caller';
import { CALLER_HEADER, callerFromToken } from './caller';

/** What every resolver receives; services add their loaders and models on top. */
export interface RequestContext {
  caller: Caller | null;
  requestId: string;
  traceparent: string;
  logger: Logger;
}

export interface RequestInfo {
  headers: Record<string, string | undefined>;
}

/**
 * Builds the base context of one request from its headers (caller verified, trace continued);
 * `subgraph` is this service's name in the supergraph, the audience its caller tokens must name.
 */
export async function createRequestContext(
  req: RequestInfo,
  logger: Logger,
  callerSecret: string,
  subgraph: string,
): Promise<RequestContext> {
  const requestId = req.headers['x-request-id'] ?? randomUUID();
  const traceparent = requestTraceparent(req.headers.traceparent);
  const caller = await callerFromToken(req.headers[CALLER_HEADER], callerSecret, subgraph);
  return { caller, requestId, traceparent, logger: logger.child({ requestId, caller: caller?.sub }) };
}

export interface SubgraphOptions<TContext extends BaseContext> {
  typeDefs: DocumentNode;
  // Generated resolver types are checked where they are written; the schema builder takes the map.
  resolvers: GraphQLResolverMap<TContext>;
  logger: Logger;
  /** Introspection (and Sandbox) on outside production unless set. */
  introspection?: boolean;
  production?: boolean;
  plugins?: ApolloServerPlugin<TContext>[];
}

/**
 * The Apollo subgraph server every service uses: federation schema, typed errors with stable codes
 * (database and unexpected errors are translated; the unexpected ones are logged and masked).
 */
export function createSubgraphServer<TContext extends BaseContext>(
  options: SubgraphOptions<TContext>,
): ApolloServer<TContext> {
  const { logger } = options;
  return new ApolloServer<TContext>({
    schema: buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers }]),
    introspection: options.introspection ?? !options.production,
    includeStacktraceInErrorResponses: !options.production,
    plugins: [
      // Federated traces only matter when reporting to GraphOS, which this platform does not do.
      ApolloServerPluginInlineTraceDisabled(),
      ...(options.production ? [ApolloServerPluginLandingPageDisabled()] : []),
      ...(options.plugins ?? []),
    ],
    formatError(formatted, error) {
      const original = (error as { originalError?: unknown }).originalError ?? error;
      const code = formatted.extensions?.code;
      // Errors Apollo raised itself (parse, validation, bad variables) already carry their code.
      if (code && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
      const mapped = toPlatformError(original);
      if (mapped.extensions.code === ErrorCode.INTERNAL_SERVER_ERROR) {
        logger.error({ err: original, path: formatted.path }, 'unexpected resolver error');
      } else if (mapped.extensions.code === ErrorCode.SERVICE_UNAVAILABLE) {
        // Expected while a dependency restarts; worth seeing in the log, not worth an alert.
        logger.warn({ err: original, path: formatted.path }, 'request failed: a dependency did not answer');
      }
      return {
        message: mapped.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { ...mapped.extensions },
      };
    },
  });
}
