import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type { ExecutionResult, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { getOperationAST, GraphQLError, Kind, OperationTypeNode, parse, print } from 'graphql';
import type { SubscribePayload, Context as WsContext } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '@waooaw/shared';
import { ErrorCode } from '@waooaw/shared';
import type { Context } from '../context';
import { PAYLOAD_RESOLUTION } from '../context';
import type { QueryLimits } from '../limits';
import { refuseOverLimits } from '../limits';
import { subgraphs } from '../subgraphs';
import { publicFieldsOf } from './audience';
import type { ResolutionBudget } from './budget';
import { callerAllowance, resolutionBudget } from './budget';
import { createEntityResolver } from './entities';
import type { KafkaFeeds } from './feed';
import { keptAnswers } from './kept';
import { serialiseOnce } from './serialise';
import { untilEnd } from './active';
import type { SubscriberSocket } from './stream';
import { feedStream } from './stream';

export interface SubscriptionDeps {
  httpServer: Server;
  apollo: ApolloServer<Context>;
  schema: () => GraphQLSchema | undefined;
  /**
   * Builds a request context from the connection_init authorization, the upgrade request's
   * forwarding headers and the socket's remote address (verifies the token).
   */
  contextFor: (req: {
    headers: Record<string, string | undefined>;
    remoteAddress?: string;
  }) => Promise<Context>;
  feeds: KafkaFeeds;
  logger: Logger;
  /** Events buffered for one subscriber before it is closed as too slow. */
  maxBuffered?: number;
  /** Largest message read from a client (bytes); a bigger one closes its socket with 1009. */
  maxPayloadBytes?: number;
  /** Operations one socket may run at once; one more is refused with TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptionsPerSocket?: number;
  /** Sockets one caller may hold open; one more is closed with TOO_MANY_CONNECTIONS_CLOSE_CODE. */
  maxConnectionsPerCaller?: number;
  /** Subscriptions one caller may hold across its sockets; one more is refused with TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptionsPerCaller?: number;
  /** What bounds the work of resolving payloads, over all subscribers (default: 64 at once). */
  resolutions?: ResolutionBudget;
  /** The request limits, checked before graphql-ws parses and validates a subscribe message. */
  limits?: QueryLimits & { maxTokens: number };
  /** Told once a subscription hears its feed (see feedStream). */
  onListening?: (field: string) => void;
  /** Told when a subscription's stream begins (+1) and when it ends (-1), however it ends. */
  onActive?: (field: string, change: 1 | -1) => void;
}

/** Close code for a caller that already holds as many sockets as it may. */
export const TOO_MANY_CONNECTIONS_CLOSE_CODE = 4430;
/** Close code for a socket whose client token expired (graphql-ws's Forbidden, as for a bad token). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4403;
/** setTimeout's longest delay (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes `socket` when the client's token expires. Returns the cancel (for a socket that closes first).
 */
function closeAtExpiry(socket: SubscriberSocket, expiresAt: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) socket.close(TOKEN_EXPIRED_CLOSE_CODE, 'Your token expired; reconnect with a fresh one');
    else timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
  };
  check();
  return () => clearTimeout(timer);
}

/** Whether a subscribe message asks for a subscription (not a query or mutation) that parses. */
function asksForSubscription(payload: SubscribePayload, maxTokens: number | undefined): boolean {
  try {
    const document = parse(payload.query, maxTokens ? { maxTokens } : {});
    return (
      getOperationAST(document, payload.operationName ?? undefined)?.operation ===
      OperationTypeNode.SUBSCRIPTION
    );
  } catch {
    return false; // graphql-ws's own parsing answers it
  }
}

/**
 * Apollo's results carry formatted errors (plain objects, as sent over HTTP); graphql-ws serialises
 * errors with their toJSON, so it gets GraphQLErrors that serialise to exactly those objects.
 */
class FormattedError extends GraphQLError {
  constructor(private readonly formatted: GraphQLFormattedError) {
    super(formatted.message, {
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.extensions ? { extensions: formatted.extensions } : {}),
    });
  }

  override toJSON(): GraphQLFormattedError {
    return this.formatted;
  }
}

/**
 * graphql-ws on the gateway's /graphql. @apollo/gateway cannot execute subscriptions, so each
 * Subscription field is fed from Kafka as its `subscriptionFeeds` entry says: events filtered by
 * the field's arguments, payload fields taken from the event, entity fields resolved by the
 * gateway's own query planning with the subscriber's context (so they may come from any subgraph).
 */
export function attachSubscriptions(deps: SubscriptionDeps) {
  const { apollo, feeds, logger } = deps;
  const maxBuffered = deps.maxBuffered ?? 1000;
  const maxSubscriptions = deps.maxSubscriptionsPerSocket ?? 50;
  const connections = callerAllowance(deps.maxConnectionsPerCaller ?? 20);
  const subscriptions = callerAllowance(deps.maxSubscriptionsPerCaller ?? 200);
  const resolutions = deps.resolutions ?? resolutionBudget(64);
  const wss = new WebSocketServer({
    server: deps.httpServer,
    path: '/graphql',
    maxPayload: deps.maxPayloadBytes ?? 1024 * 1024,
  });
  /**
   * Per socket: its verified context, its caller's key, the subscribe messages holding one of the
   * caller's subscriptions (by the message's payload object, which graphql-ws hands to onComplete and
   * onError too: an operation id may be reused before the operation it named has finished), and
   * what to undo when it closes.
   */
  const sockets = new WeakMap<
    object,
    { context: Context; key: string; holding: Set<SubscribePayload>; release: () => void }
  >();
  const callerKey = (context: Context) => (context.caller ? `sub:${context.caller.sub}` : `ip:${context.ip}`);

  const runQuery = async (
    query: string,
    variables: Record<string, unknown>,
    contextValue: Context,
    operationName?: string,
  ): Promise<ExecutionResult> => {
    const response = await apollo.executeOperation(
      { query, variables, ...(operationName ? { operationName } : {}) },
      { contextValue },
    );
    if (response.body.kind !== 'single')
      return { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] };
    const { errors, ...result } = response.body.singleResult;
    return { ...result, ...(errors ? { errors: errors.map((e) => new FormattedError(e)) } : {}) };
  };

  /**
   * An event's payload fields, resolved as the subscriber within the resolution budget. Marked as the
   * gateway's own work, so that the rate limiter does not charge it to the subscriber (rate-limit.ts).
   */
  const resolvePayload = (query: string, variables: Record<string, unknown>, context: Context) =>
    resolutions.run(() => runQuery(query, variables, { ...context, [PAYLOAD_RESOLUTION]: true }));
  // Entity fields of payloads: shared per audience and batched (entities.ts), as many entities per
  // query as a client may alias and within the parser's token limit (the limits plugin leaves the
  // gateway's own payload queries alone otherwise).
  const entities = createEntityResolver({
    runQuery: resolvePayload,
    maxBatch: Math.max(1, deps.limits?.maxAliases ?? 20),
    ...(deps.limits ? { maxTokens: deps.limits.maxTokens } : {}),
  });
  // Whole results, shared by the subscribers of one audience and selection (payload.ts), and turned
  // into JSON once each (serialise.ts).
  const payloads = keptAnswers<ExecutionResult>({ keepMs: 30_000, max: 50_000 });
  const serialised = serialiseOnce();
  wss.on('connection', (socket) => serialised.wrap(socket)); // before graphql-ws's own listener
  const publicFields = publicFieldsOf(subgraphs().map((s) => parse(readFileSync(s.sdlFile, 'utf8'))));
  let anonymous: Promise<Context> | undefined;
  /** An anonymous caller's context, for the public audience's resolutions (audience.ts). */
  const publicContext = () => {
    anonymous ??= deps.contextFor({ headers: {} });
    return anonymous;
  };

  type Ctx = WsContext<Record<string, unknown>, Extra>;
  /** Gives back the caller's subscription held by the subscribe message `payload`, if it holds one. */
  const releaseSubscription = (ctx: Ctx, payload: SubscribePayload) => {
    const socket = sockets.get(ctx);
    if (socket?.holding.delete(payload)) subscriptions.release(socket.key);
  };
  const server = useServer<Record<string, unknown>>(
    {
      jsonMessageReplacer: serialised.replacer,
      // The result as it is, so that a shared one stays the one object serialised once; graphql-ws
      // would copy it. Its errors are GraphQLErrors, which serialise (toJSON) to formatted ones.
      onNext: (_ctx, _id, _payload, _args, result) => result,
      schema: () => {
        const schema = deps.schema();
        if (!schema) throw new Error('the gateway has not loaded its schema yet');
        return schema;
      },
      onConnect: async (ctx: Ctx) => {
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        const { socket, request } = ctx.extra;
        const forwardedFor = request.headers['x-forwarded-for'];
        let context: Context;
        try {
          context = await deps.contextFor({
            headers: {
              authorization: typeof authorization === 'string' ? authorization : undefined,
              'x-forwarded-for': Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor,
            },
            ...(request.socket.remoteAddress ? { remoteAddress: request.socket.remoteAddress } : {}),
          });
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        // Closed while its token was checked: onClose has run already, so count nothing for it.
        if (socket.readyState !== socket.OPEN) return false;
        const key = callerKey(context);
        if (!connections.take(key)) {
          // The first close wins: graphql-ws's own 4403 after `false` does not replace this one.
          socket.close(
            TOO_MANY_CONNECTIONS_CLOSE_CODE,
            `Too many connections: at most ${connections.max} open sockets per caller; close one first`,
          );
          return false;
        }
        const cancelExpiry = context.expiresAt ? closeAtExpiry(socket, context.expiresAt) : () => undefined;
        const holding = new Set<SubscribePayload>();
        sockets.set(ctx, {
          context,
          key,
          holding,
          release: () => {
            cancelExpiry();
            connections.release(key);
            // Whatever its operations' own ends did not give back (a send that failed on the closed socket).
            subscriptions.release(key, holding.size);
            holding.clear();
          },
        });
        return true;
      },
      // An operation's end: graphql-ws calls onComplete when it finishes, onError when it fails before
      // it ran (validation) or while it ran (then onComplete too: releasing twice gives back one).
      onComplete: (ctx: Ctx, _id, payload) => releaseSubscription(ctx, payload),
      onError: (ctx: Ctx, _id, payload) => releaseSubscription(ctx, payload),
      onClose: (ctx: Ctx) => {
        sockets.get(ctx)?.release();
        sockets.delete(ctx);
      },
      onSubscribe: (ctx: Ctx, _id, payload) => {
        const context = sockets.get(ctx)?.context;
        // The expiry timer closes the socket; this covers an operation that arrives just before it fires.
        if (context?.expiresAt !== undefined && context.expiresAt <= Date.now()) {
          ctx.extra.socket.close(TOKEN_EXPIRED_CLOSE_CODE, 'Your token expired; reconnect with a fresh one');
          return [
            new GraphQLError('Your token expired', { extensions: { code: ErrorCode.UNAUTHENTICATED } }),
          ];
        }
        // graphql-ws has already registered this operation, so it counts itself.
        if (Object.keys(ctx.subscriptions).length > maxSubscriptions)
          return [
            new GraphQLError(
              `Too many operations on this socket: at most ${maxSubscriptions} at once; complete one first`,
              { extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS, limit: maxSubscriptions } },
            ),
          ];
        // graphql-ws parses and validates with no limits of its own: refuse over-limit documents first.
        const schema = deps.schema();
        const overLimits = schema && deps.limits ? refuseOverLimits(schema, payload, deps.limits) : undefined;
        if (overLimits) return overLimits;
        // Last, so that nothing after it refuses the operation without giving its place back (without
        // a schema, graphql-ws fails the operation without telling onError: the place is not taken).
        // An operation that fails in a way no hook hears closes its socket, which gives all back.
        const socket = sockets.get(ctx);
        if (socket && schema && asksForSubscription(payload, deps.limits?.maxTokens)) {
          if (!subscriptions.take(socket.key))
            return [
              new GraphQLError(
                `Too many subscriptions: at most ${subscriptions.max} at once per caller, over all its sockets; complete one before subscribing again`,
                {
                  extensions: {
                    code: ErrorCode.TOO_MANY_SUBSCRIPTIONS,
                    limit: subscriptions.max,
                    scope: 'caller',
                  },
                },
              ),
            ];
          socket.holding.add(payload);
        }
        return undefined; // graphql-ws parses and validates the operation as usual
      },
      // The subscriber's verified context, plus its socket (to close it when it falls behind).
      context: (ctx: Ctx) => {
        const context = sockets.get(ctx)?.context;
        return context ? { ...context, socket: ctx.extra.socket } : undefined;
      },
      execute: (args) => {
        const operation = getOperationAST(args.document, args.operationName);
        return runQuery(
          print(args.document),
          args.variableValues ?? {},
          args.contextValue as Context,
          operation?.name?.value,
        );
      },
      subscribe: (args) => {
        const operation = getOperationAST(args.document, args.operationName);
        const field = operation?.selectionSet.selections[0];
        if (operation?.operation !== OperationTypeNode.SUBSCRIPTION || field?.kind !== Kind.FIELD) {
          return { errors: [new GraphQLError('Send one subscription field per operation')] };
        }
        const socket = (args.contextValue as Context & { socket?: SubscriberSocket }).socket;
        const stream = feedStream(
          {
            feeds,
            logger,
            maxBuffered,
            entities,
            publicFields,
            publicContext,
            payloads,
            onListening: deps.onListening,
          },
          args,
          field,
          socket ?? { bufferedAmount: 0, close: () => undefined },
        );
        const { onActive } = deps;
        // A refusal (an ExecutionResult) never was a live subscription.
        if (!onActive || !(Symbol.asyncIterator in stream)) return stream;
        const name = field.name.value;
        onActive(name, 1);
        return untilEnd(stream, () => onActive(name, -1));
      },
    },
    wss,
  );

  return {
    async close() {
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
